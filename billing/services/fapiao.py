"""Recording fapiao: by hand from the tax system's file, or through the configured provider; and the
red-letter confirmation that makes a credit note count. Only the issuer's finance records them."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.translation import gettext as _

from common.errors import Conflict
from facilities.models import User

from .. import fapiao_providers
from ..models import Fapiao, FapiaoKind, Invoice, InvoiceKind, InvoiceStatus, RedLetterConfirmation
from ..models.fapiao import TAX_RATES
from ..payment_reference import payment_reference
from ..selectors import finance_institution_ids, invoices_visible_to
from ..validators import normalize_tax_id, validate_fapiao_number, validate_red_letter_number, validate_tax_id

# The tax authority accepts a tax amount up to 0.06 yuan from the exact one per fapiao line.
TAX_TOLERANCE = Decimal("0.06")
FILE_SIGNATURES = {"pdf": (b"%PDF-",), "ofd": (b"PK\x03\x04",), "xml": (b"<?xml", b"\xef\xbb\xbf<?xml", b"<")}


def expected_tax(total: Decimal, rate: Decimal) -> Decimal:
    """The tax inside a tax-inclusive amount: total × rate / (1 + rate), to the fen."""
    return (Decimal(total) * rate / (1 + rate)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _lock_issued(actor: User | None, invoice_id: int) -> Invoice:
    qs = Invoice.objects.all() if actor is None else invoices_visible_to(actor)
    invoice = qs.select_for_update(of=("self",)).filter(pk=invoice_id).first()
    if invoice is None:
        raise Http404(_("No such invoice, or you may not see it."))
    if actor is not None and not actor.is_superuser and invoice.issuer_id not in finance_institution_ids(actor):
        raise PermissionDenied(_("Only the issuer's finance staff may record its fapiao."))
    if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.PAID):
        raise Conflict("invalid_state", _("Only an issued invoice or credit note gets a fapiao."))
    return invoice


def check_file(*, name: str, content: bytes) -> str:
    """The file's type (pdf, ofd, xml) from its name and its first bytes, which must agree; and its size."""
    limit = settings.RECEIVABLES_UPLOAD_MAX_BYTES
    if len(content) > limit:
        raise ValidationError({"file": _("A fapiao file may be at most %(n)d bytes.") % {"n": limit}})
    if not content:
        raise ValidationError({"file": _("The fapiao file is empty.")})
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in FILE_SIGNATURES:
        raise ValidationError({"file": _("A fapiao file is a PDF, OFD or XML file; got %(n)s.") % {"n": name[:80]}})
    head = content[:16].lstrip() if ext == "xml" else content[:16]
    if not any(head.startswith(sig) for sig in FILE_SIGNATURES[ext]):
        raise ValidationError({"file": _("The file's content is not %(t)s.") % {"t": ext.upper()}})
    return ext


def _check_fields(
    *, invoice: Invoice, number: str, kind: str, issued_on: dt.date, tax_id: str, rate: Decimal, tax: Decimal
) -> None:
    errors: dict[str, list[str]] = {}
    for field, check in (
        ("number", lambda: validate_fapiao_number(number, year=issued_on.year)),
        ("buyer_tax_id", lambda: validate_tax_id(tax_id)),
    ):
        try:
            check()
        except ValidationError as exc:
            errors[field] = exc.messages
    if kind not in FapiaoKind.values:
        errors["kind"] = [_("Choose normal (普通) or special (专用).")]
    if rate not in TAX_RATES:
        errors["tax_rate"] = [_("Choose a tax rate of %(r)s.") % {"r": ", ".join(str(r) for r in TAX_RATES)}]
    else:
        want = expected_tax(invoice.total, rate)
        if abs(tax - want) > TAX_TOLERANCE:
            errors["tax_amount"] = [
                _("At %(r)s the tax in %(t)s is %(w)s; %(g)s differs by more than %(tol)s.")
                % {"r": rate, "t": invoice.total, "w": want, "g": tax, "tol": TAX_TOLERANCE}
            ]
    if (
        invoice.kind == InvoiceKind.CREDIT_NOTE
        and not RedLetterConfirmation.objects.filter(credit_note=invoice).exists()
    ):
        errors.setdefault("number", []).append(
            _("A credit note's red-letter fapiao needs its red-letter confirmation (红字确认单) first.")
        )
    if errors:
        raise ValidationError(errors)


def fapiao_record(
    *,
    actor: User | None,
    invoice_id: int,
    number: str,
    kind: str,
    issued_on: dt.date,
    buyer_name: str,
    buyer_tax_id: str,
    tax_rate: Decimal,
    tax_amount: Decimal,
    file_name: str = "",
    file_content: bytes = b"",
    provider: str = "",
) -> Fapiao:
    """Record the fapiao the tax system gave an issued invoice or credit note (one each, never replaced)."""
    tax_id = normalize_tax_id(buyer_tax_id)
    file_type = check_file(name=file_name, content=file_content) if file_name or file_content else ""
    if not buyer_name.strip():
        raise ValidationError({"buyer_name": _("The buyer's name is required.")})
    with transaction.atomic():
        invoice = _lock_issued(actor, invoice_id)
        if Fapiao.objects.filter(invoice=invoice).exists():
            raise Conflict("fapiao_exists", _("This invoice already has its fapiao."))
        _check_fields(
            invoice=invoice,
            number=number,
            kind=kind,
            issued_on=issued_on,
            tax_id=tax_id,
            rate=tax_rate,
            tax=tax_amount,
        )
        fapiao = Fapiao(
            invoice=invoice,
            number=number,
            kind=kind,
            issued_on=issued_on,
            buyer_name=buyer_name.strip()[:200],
            buyer_tax_id=tax_id,
            tax_rate=tax_rate,
            tax_amount=tax_amount,
            file_type=file_type,
            provider=provider,
            recorded_by=actor,
        )
        try:
            with transaction.atomic():
                if file_type:
                    fapiao.file.save(f"{number}.{file_type}", ContentFile(file_content), save=False)
                fapiao.save()
        except IntegrityError:
            if fapiao.file:
                fapiao.file.delete(save=False)
            raise Conflict("fapiao_number_taken", _("Fapiao %(n)s is already recorded.") % {"n": number}) from None
    return fapiao


def red_letter_record(*, actor: User | None, credit_note_id: int, number: str, confirmed_on: dt.date):
    """Record the red-letter confirmation of a credit note; from now on it counts against its invoice."""
    validate_red_letter_number(number)
    with transaction.atomic():
        note = _lock_issued(actor, credit_note_id)
        if note.kind != InvoiceKind.CREDIT_NOTE:
            raise ValidationError(_("Only a credit note has a red-letter confirmation."))
        if RedLetterConfirmation.objects.filter(credit_note=note).exists():
            raise Conflict("red_letter_exists", _("This credit note already has its red-letter confirmation."))
        try:
            with transaction.atomic():
                confirmation = RedLetterConfirmation.objects.create(
                    credit_note=note, number=number, confirmed_on=confirmed_on, recorded_by=actor
                )
        except IntegrityError:
            raise Conflict(
                "red_letter_number_taken", _("Red-letter confirmation %(n)s is already recorded.") % {"n": number}
            ) from None
    return confirmation


def fapiao_issue_through_provider(*, actor: User | None, invoice_id: int, buyer_tax_id: str, kind: str) -> Fapiao:
    """Ask the configured provider for the fapiao of an issued invoice (or the red-letter fapiao of a
    confirmed credit note) and record it. The call happens outside any transaction; asking again
    after a failure repeats the same request id, which the provider answers with the same fapiao."""
    if not fapiao_providers.configured():
        raise ValidationError(_("No fapiao service provider is configured; record the fapiao by hand."))
    tax_id = normalize_tax_id(buyer_tax_id)
    validate_tax_id(tax_id)
    with transaction.atomic():
        invoice = _lock_issued(actor, invoice_id)
        existing = Fapiao.objects.filter(invoice=invoice).first()
        if existing is not None:
            return existing
        red = RedLetterConfirmation.objects.filter(credit_note=invoice).first()
        if invoice.kind == InvoiceKind.CREDIT_NOTE and red is None:
            raise ValidationError(_("A credit note's red-letter fapiao needs its red-letter confirmation first."))
        original = Fapiao.objects.filter(invoice_id=invoice.credit_of_id).first() if invoice.credit_of_id else None
        invoice = Invoice.objects.select_related("issuer", "payer").get(pk=invoice.pk)
    provider = fapiao_providers.get_provider()
    rate = Decimal(settings.FAPIAO_TAX_RATE)
    request = fapiao_providers.FapiaoRequest(
        request_id=payment_reference(invoice),
        kind=kind,
        seller_name=invoice.issuer.name_zh or invoice.issuer.name,
        buyer_name=invoice.payer.name_zh or invoice.payer.name,
        buyer_tax_id=tax_id,
        item_name=settings.FAPIAO_ITEM_NAME,
        item_tax_code=settings.FAPIAO_ITEM_TAX_CODE,
        amount_with_tax=invoice.total,
        tax_rate=rate,
        red_letter_number=red.number if red else "",
        original_fapiao_number=original.number if original else "",
    )
    try:
        issued = provider.issue(request)
    except fapiao_providers.FapiaoProviderError as exc:
        raise Conflict("fapiao_provider_failed", _("The fapiao provider refused: %(e)s") % {"e": exc}) from exc
    try:
        return fapiao_record(
            actor=actor,
            invoice_id=invoice.pk,
            number=issued.number,
            kind=kind,
            issued_on=issued.issued_on,
            buyer_name=request.buyer_name,
            buyer_tax_id=tax_id,
            tax_rate=rate,
            tax_amount=issued.tax_amount,
            file_name=f"{issued.number}.{issued.file_type}" if issued.content else "",
            file_content=issued.content,
            provider=getattr(provider, "name", type(provider).__name__)[:64],
        )
    except Conflict as exc:
        if exc.code == "fapiao_exists":  # a concurrent request recorded it first
            return Fapiao.objects.get(invoice_id=invoice.pk)
        raise
