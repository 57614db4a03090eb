"""Reads of receivables: what an invoice's payer still owes, how old the debt is, and the sums per
payer. An invoice's balance is its total, less the credit notes against it that have their red-letter
confirmation, less the bank payments applied to it. Everything in fen-exact Decimal."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from common.time import local_tz

from .models import BankAccount, BankPayment, Invoice, InvoiceKind, InvoiceStatus, PaymentMatch
from .money import ZERO
from .selectors import finance_institution_ids

BUCKETS = ("0-30", "31-60", "61-90", "90+")
MONEY = DecimalField(max_digits=16, decimal_places=2)


def bucket_of(days: int) -> str:
    if days <= 30:
        return "0-30"
    if days <= 60:
        return "31-60"
    if days <= 90:
        return "61-90"
    return "90+"


def with_balances(qs: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Annotate `credited` (confirmed credit notes, ≤ 0) and `received` (payments applied, ≥ 0)."""
    credited = (
        Invoice.objects.filter(credit_of=OuterRef("pk"), kind=InvoiceKind.CREDIT_NOTE, red_letter__isnull=False)
        .exclude(status=InvoiceStatus.VOID)
        .values("credit_of")
        .annotate(s=Sum("total"))
        .values("s")
    )
    received = (
        PaymentMatch.objects.filter(invoice=OuterRef("pk")).values("invoice").annotate(s=Sum("amount")).values("s")
    )
    return qs.annotate(
        credited=Coalesce(Subquery(credited, output_field=MONEY), Value(ZERO), output_field=MONEY),
        received=Coalesce(Subquery(received, output_field=MONEY), Value(ZERO), output_field=MONEY),
    )


@dataclass(frozen=True)
class Balance:
    total: Decimal
    credited: Decimal
    received: Decimal
    balance: Decimal
    state: str  # unpaid | partly_paid | paid | overpaid
    days: int  # since issue
    bucket: str | None  # ageing bucket while something is owed


def balance_of(invoice: Invoice, *, today: dt.date | None = None) -> Balance:
    """Needs `credited` and `received` annotations (with_balances), or reads them."""
    credited = getattr(invoice, "credited", None)
    received = getattr(invoice, "received", None)
    if credited is None or received is None:
        again = with_balances(Invoice.objects.filter(pk=invoice.pk)).get()
        credited, received = getattr(again, "credited"), getattr(again, "received")  # noqa: B009 (annotations)
    total = invoice.total
    owed = total + credited - received
    if invoice.status == InvoiceStatus.PAID and received == 0:
        owed = ZERO  # paid outside bank statements (e.g. through Stripe)
    if owed < 0:
        state = "overpaid"
    elif owed == 0:
        state = "paid"
    elif received > 0:
        state = "partly_paid"
    else:
        state = "unpaid"
    today = today or timezone.localdate(timezone.now(), local_tz())
    issued = timezone.localtime(invoice.issued_at, local_tz()).date() if invoice.issued_at else today
    days = max((today - issued).days, 0)
    return Balance(total, credited, received, owed, state, days, bucket_of(days) if owed > 0 else None)


def receivable_invoices(institution_ids) -> QuerySet[Invoice]:
    """Issued or paid invoices (not credit notes) the institutions issued, with balances."""
    return with_balances(
        Invoice.objects.filter(
            issuer_id__in=institution_ids,
            kind=InvoiceKind.INVOICE,
            status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PAID],
        ).select_related("issuer", "payer")
    ).order_by("issued_at", "id")


def receivable_institutions(user) -> list[int]:
    """Institutions whose receivables the user keeps (finance), all for platform administrators."""
    if not getattr(user, "is_authenticated", False):
        return []
    if user.is_superuser:
        return list(Invoice.objects.values_list("issuer_id", flat=True).distinct())
    return sorted(finance_institution_ids(user))


@dataclass
class PayerRow:
    payer_code: str
    payer_name: str
    invoices: int = 0
    open_invoices: int = 0
    invoiced: Decimal = ZERO
    credited: Decimal = ZERO
    received: Decimal = ZERO
    outstanding: Decimal = ZERO
    buckets: dict[str, Decimal] = field(default_factory=lambda: {b: ZERO for b in BUCKETS})


def receivables_by_payer(
    *, institution_ids, today: dt.date | None = None, open_list: list | None = None, open_limit: int = 0
) -> tuple[list[PayerRow], PayerRow]:
    """One row per payer of the institutions' invoices, and the totals. `outstanding` is the sum of
    the balances; the ageing buckets split what is owed (an overpaid invoice counts in outstanding as
    a negative balance but in no bucket). With `open_list`, the first `open_limit` invoices still owed
    are appended to it as (invoice, balance), from the same read."""
    rows: dict[int, PayerRow] = {}
    total = PayerRow("", "")
    for invoice in receivable_invoices(institution_ids).iterator(chunk_size=2000):
        b = balance_of(invoice, today=today)
        if open_list is not None and b.balance > 0 and len(open_list) < open_limit:
            open_list.append((invoice, b))
        row = rows.setdefault(invoice.payer_id, PayerRow(invoice.payer.code, invoice.payer.name))
        for target in (row, total):
            target.invoices += 1
            target.open_invoices += 1 if b.balance > 0 else 0
            target.invoiced += b.total
            target.credited += b.credited
            target.received += b.received
            target.outstanding += b.balance
            if b.bucket:
                target.buckets[b.bucket] += b.balance
    return sorted(rows.values(), key=lambda r: (-r.outstanding, r.payer_code)), total


def payments_visible_to(user, institution_ids=None) -> QuerySet[BankPayment]:
    """Bank payments of the accounts of the institutions the user keeps the books of."""
    ids = receivable_institutions(user) if institution_ids is None else institution_ids
    return BankPayment.objects.filter(bank_account__institution_id__in=ids).select_related("bank_account", "statement")


def unmatched_payments(user, institution_ids=None) -> QuerySet[BankPayment]:
    return (
        payments_visible_to(user, institution_ids)
        .filter(~Q(status=BankPayment.Status.APPLIED))
        .order_by("value_date", "id")
    )


def active_bank_account(institution_id: int) -> BankAccount | None:
    return BankAccount.objects.filter(institution_id=institution_id, active=True).first()
