"""Importing bank statements and applying the payments on them to invoices.

A statement is read whole (billing/bank_statements.py) before anything is written. The import then
holds the bank account's row lock, so two imports into one account take turns; a payment already
imported (same fingerprint, also a unique constraint) is skipped, never applied again. Each new payment
is matched at once, by the payment reference in its memo, else an invoice number, else a unique open
invoice of the same payer for exactly the amount; what does not match waits for a person to assign.
A payment is applied whole to the invoice it names (overpaying it, if it brings more); a person may
split one across invoices. Applied money never exceeds the payment (a check constraint says so too).
"""

import hashlib
import re
import unicodedata
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from common.errors import Conflict
from facilities.models import User

from ..bank_statements import StatementRow, parse_statement
from ..models import BankAccount, BankPayment, Invoice, InvoiceKind, InvoiceStatus, PaymentMatch, StatementImport
from ..models.payments import MatchMethod, PaymentStatus
from ..payment_reference import invoice_ids_in
from ..receivables import balance_of, with_balances
from ..selectors import finance_institution_ids
from .invoicing import invoice_mark_paid

OPEN = (InvoiceStatus.ISSUED, InvoiceStatus.PAID)


def _books_of(actor: User | None) -> set[int] | None:
    """Institutions the actor keeps the books of; None: all (system or platform administrator)."""
    if actor is None or actor.is_superuser:
        return None
    return finance_institution_ids(actor)


def _account_for(actor: User | None, bank_account_id: int | None) -> BankAccount:
    books = _books_of(actor)
    if books is not None and not books:
        raise PermissionDenied(_("Only finance staff may import bank statements."))
    if bank_account_id is not None:
        account = BankAccount.objects.filter(pk=bank_account_id).first()
        if account is None or (books is not None and account.institution_id not in books):
            raise Http404(_("No such bank account, or it is not your institution's."))
        return account
    candidates = BankAccount.objects.filter(active=True)
    if books is not None:
        candidates = candidates.filter(institution_id__in=books)
    accounts = list(candidates[:2])
    if len(accounts) != 1:
        raise ValidationError(
            {"account": _("Name the bank account the statement belongs to (its id); you keep several or none.")}
        )
    return accounts[0]


def fingerprint(row: StatementRow, occurrence: int) -> str:
    """The bank's transaction id when the layout has one; else the row's content with the balance after
    it, and how many identical rows came before it in the file (two equal transfers on one day stay two
    payments)."""
    if row.reference:
        key = f"ref|{row.reference}"
    else:
        key = "|".join(
            [
                "row",
                row.value_date.isoformat(),
                f"{row.amount:.2f}",
                row.payer_account,
                row.payer_name,
                row.memo,
                row.balance,
                str(occurrence),
            ]
        )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _fingerprints(rows: list[StatementRow]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for row in rows:
        base = fingerprint(row, 0)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.append(base if n == 0 else fingerprint(row, n))
    return out


def statement_import(
    *, actor: User | None, filename: str, content: bytes, bank: str | None = None, bank_account_id: int | None = None
) -> StatementImport:
    account = _account_for(actor, bank_account_id)
    layout, rows = parse_statement(content, bank=bank)
    prints = _fingerprints(rows)
    digest = hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        BankAccount.objects.select_for_update().get(pk=account.pk)  # imports into one account take turns
        known = set(
            BankPayment.objects.filter(bank_account=account, fingerprint__in=prints).values_list(
                "fingerprint", flat=True
            )
        )
        statement = StatementImport.objects.create(
            bank_account=account,
            bank_format=layout,
            filename=filename[:255],
            sha256=digest,
            rows_read=len(rows),
            imported_by=actor,
        )
        new = [
            BankPayment(
                bank_account=account,
                statement=statement,
                fingerprint=fp,
                bank_reference=row.reference,
                value_date=row.value_date,
                amount=row.amount,
                payer_name=row.payer_name,
                payer_account=row.payer_account,
                memo=row.memo,
            )
            for row, fp in zip(rows, prints, strict=True)
            if fp not in known
        ]
        BankPayment.objects.bulk_create(new)
        matched = 0
        for payment in BankPayment.objects.filter(statement=statement).order_by("value_date", "id"):
            if _auto_match(payment):
                matched += 1
        statement.payments_new = len(new)
        statement.payments_known = len(rows) - len(new)
        statement.payments_matched = matched
        statement.save(update_fields=["payments_new", "payments_known", "payments_matched"])
    return statement


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).upper()


def _candidate(payment: BankPayment, issuer_id: int) -> tuple[Invoice | None, str, str]:
    """The invoice the payment names, how it was found, or why none was."""
    invoices = Invoice.objects.filter(issuer_id=issuer_id, kind=InvoiceKind.INVOICE)
    ids = list(dict.fromkeys(invoice_ids_in(payment.memo)))
    if ids:
        found = list(invoices.filter(pk__in=ids, status__in=OPEN))
        if len(found) == 1 and len(ids) == 1:
            return found[0], MatchMethod.REFERENCE, ""
        if len(ids) > 1:
            return None, "", _("The memo quotes several payment references; assign it by hand.")
        return None, "", _("The memo's payment reference names no open invoice of this institution.")
    memo = _norm(payment.memo)
    numbers = set(re.findall(r"[A-Z0-9][A-Z0-9-]*-\d{4}-\d{4,}", memo))
    if numbers:
        found = list(invoices.filter(number__in=numbers, status__in=OPEN))
        if len(found) == 1:
            return found[0], MatchMethod.NUMBER, ""
        if len(found) > 1:
            return None, "", _("The memo quotes several invoice numbers; assign it by hand.")
    payer = _norm(payment.payer_name)
    if payer:
        open_ones = [
            inv
            for inv in with_balances(invoices.filter(status=InvoiceStatus.ISSUED).select_related("payer"))
            if payer in (_norm(inv.payer.name), _norm(inv.payer.name_zh)) and balance_of(inv).balance == payment.amount
        ]
        if len(open_ones) == 1:
            return open_ones[0], MatchMethod.AMOUNT, ""
        if len(open_ones) > 1:
            return None, "", _("Several open invoices of this payer are for this amount; assign it by hand.")
    return None, "", _("No payment reference, invoice number, or open invoice of this payer for this amount.")


def _apply(*, payment: BankPayment, invoice_id: int, amount: Decimal, method: str, actor: User | None) -> PaymentMatch:
    """Apply `amount` of a locked payment to an invoice, and mark the invoice paid when nothing is owed."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice_id)
    match = PaymentMatch.objects.create(
        payment=payment, invoice=invoice, amount=amount, method=method, matched_by=actor
    )
    payment.applied += amount
    payment.status = PaymentStatus.APPLIED if payment.applied == payment.amount else PaymentStatus.PARTLY_APPLIED
    payment.note = ""
    payment.save(update_fields=["applied", "status", "note"])
    if invoice.status == InvoiceStatus.ISSUED and balance_of(invoice).balance <= 0:
        invoice_mark_paid(invoice_id=invoice.pk)
    return match


def _auto_match(payment: BankPayment) -> bool:
    invoice, method, why = _candidate(payment, payment.bank_account.institution_id)
    if invoice is None:
        BankPayment.objects.filter(pk=payment.pk).update(note=why[:300])
        return False
    _apply(payment=payment, invoice_id=invoice.pk, amount=payment.amount, method=method, actor=None)
    return True


def payment_assign(
    *, actor: User | None, payment_id: int, invoice_id: int, amount: Decimal | None = None
) -> PaymentMatch:
    """A person applies (part of) what is left of a payment to an invoice of the same institution."""
    books = _books_of(actor)
    with transaction.atomic():
        payment = (
            BankPayment.objects.select_for_update(of=("self",))
            .select_related("bank_account")
            .filter(pk=payment_id)
            .first()
        )
        if payment is None or (books is not None and payment.bank_account.institution_id not in books):
            raise Http404(_("No such payment, or it is not your institution's."))
        invoice = Invoice.objects.filter(pk=invoice_id).first()
        if invoice is None or invoice.issuer_id != payment.bank_account.institution_id:
            raise ValidationError({"invoice": _("Choose an invoice your institution issued.")})
        if invoice.kind != InvoiceKind.INVOICE or invoice.status not in OPEN:
            raise Conflict("invoice_not_open", _("Payments are applied to issued invoices only."))
        left = payment.amount - payment.applied
        if left <= 0:
            raise Conflict("payment_applied", _("This payment has been applied in full already."))
        amount = left if amount is None else amount
        if amount <= 0 or amount > left or amount != amount.quantize(Decimal("0.01")):
            raise ValidationError(
                {"amount": _("Apply more than 0 and at most %(left)s yuan, in fen.") % {"left": f"{left:.2f}"}}
            )
        return _apply(payment=payment, invoice_id=invoice.pk, amount=amount, method=MatchMethod.MANUAL, actor=actor)
