"""Receivables on the finance console: balances and ageing of open invoices, receivables per payer,
bank statement upload and the payments waiting for a person to assign them; and on an invoice's page,
where to pay it, its balance and its fapiao. Thin adapters over billing's receivables services."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_POST

from common.errors import Conflict

from ..errors import messages_of
from .access import role_required

FINANCE = ("finance", "platform_admin")
OPEN_SHOWN = 100
PAYMENTS_SHOWN = 50


class StatementForm(forms.Form):
    file = forms.FileField(label=_l("Bank statement (CSV or XLSX)"))
    bank = forms.ChoiceField(label=_l("Bank layout"), required=False)

    def __init__(self, *args, **kwargs):
        from billing.bank_statements import bank_formats

        super().__init__(*args, **kwargs)
        choices = [("", _("Recognise it"))] + [(code, f["name"]) for code, f in bank_formats().items()]
        self.fields["bank"].choices = choices  # type: ignore[attr-defined]


class FapiaoForm(forms.Form):
    number = forms.CharField(label=_l("Fapiao number (20 digits)"), max_length=40)
    kind = forms.ChoiceField(label=_l("Kind"))
    issued_on = forms.DateField(label=_l("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    buyer_name = forms.CharField(label=_l("Buyer"), max_length=200)
    buyer_tax_id = forms.CharField(label=_l("Buyer's unified social credit code"), max_length=40)
    tax_rate = forms.ChoiceField(label=_l("Tax rate"))
    tax_amount = forms.DecimalField(label=_l("Tax amount"), max_digits=14, decimal_places=2)
    file = forms.FileField(label=_l("File (PDF, OFD or XML)"), required=False)

    def __init__(self, *args, **kwargs):
        from billing.models import FapiaoKind
        from billing.models.fapiao import TAX_RATES

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = FapiaoKind.choices  # type: ignore[attr-defined]
        self.fields["tax_rate"].choices = [(f"{r:.2f}", f"{r:.2f}") for r in TAX_RATES]  # type: ignore[attr-defined]


class RedLetterForm(forms.Form):
    number = forms.CharField(label=_l("Red-letter confirmation number (20 digits)"), max_length=40)
    confirmed_on = forms.DateField(label=_l("Confirmed on"), widget=forms.DateInput(attrs={"type": "date"}))


def receivables_context(user) -> dict:
    """What the console shows of receivables, for the institutions whose books the user keeps."""
    from billing.models import StatementImport
    from billing.receivables import BUCKETS, receivable_institutions, receivables_by_payer, unmatched_payments

    ids = receivable_institutions(user)
    if not ids:
        return {"receivables": None}
    open_list: list = []
    rows, total = receivables_by_payer(institution_ids=ids, open_list=open_list, open_limit=OPEN_SHOWN)
    return {
        "receivables": {
            "buckets": BUCKETS,
            "payers": rows,
            "total": total,
            "open": open_list,
            "unmatched": list(unmatched_payments(user, ids)[:PAYMENTS_SHOWN]),
            "statements": list(
                StatementImport.objects.filter(bank_account__institution_id__in=ids)
                .select_related("bank_account")
                .order_by("-imported_at")[:5]
            ),
            "form": StatementForm(),
        }
    }


def invoice_payment_context(user, invoice) -> dict:
    from billing.exports.documents import payment_details
    from billing.models import Fapiao, RedLetterConfirmation
    from billing.receivables import balance_of

    balance = None
    if invoice.kind == "invoice" and invoice.status in ("issued", "paid"):
        balance = balance_of(invoice)
    from billing.models import BuyerTaxInfo
    from billing.services.fapiao import expected_tax

    info = BuyerTaxInfo.objects.filter(institution_id=invoice.payer_id).first()
    fapiao_form = FapiaoForm(
        initial={
            "buyer_name": invoice.payer.name_zh or invoice.payer.name,
            "buyer_tax_id": info.tax_id if info else "",
            "kind": info.fapiao_kind if info else "normal",
            "tax_rate": "0.06",
            "tax_amount": expected_tax(invoice.total, Decimal("0.06")),
        }
    )
    return {
        "fapiao_form": fapiao_form,
        "red_letter_form": RedLetterForm(),
        "payment_details": payment_details(invoice),
        "balance": balance,
        "fapiao": Fapiao.objects.filter(invoice=invoice).first(),
        "red_letter": RedLetterConfirmation.objects.filter(credit_note=invoice).first(),
        "matches": list(invoice.payment_matches.select_related("payment", "matched_by").order_by("matched_at")),
    }


def _back():
    return redirect(reverse("frontend:finance") + "#receivables")


@require_POST
@role_required(*FINANCE)
def statement_upload(request):
    from billing.services.payments import statement_import

    form = StatementForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return _back()
    upload = form.cleaned_data["file"]
    try:
        statement = statement_import(
            actor=request.user,
            filename=upload.name,
            content=b"".join(upload.chunks()),
            bank=form.cleaned_data["bank"] or None,
        )
    except (ValidationError, Conflict, PermissionDenied, Http404) as exc:
        for _field, text in messages_of(exc):
            messages.error(request, text)
        return _back()
    messages.success(
        request,
        _("%(new)d new payments read (%(known)d already known); %(matched)d matched to invoices.")
        % {"new": statement.payments_new, "known": statement.payments_known, "matched": statement.payments_matched},
    )
    return _back()


@require_POST
@role_required(*FINANCE)
def payment_assign(request, pk: int):
    from billing.models import Invoice
    from billing.services.payments import payment_assign as assign

    number = request.POST.get("invoice", "").strip()
    amount_text = request.POST.get("amount", "").strip()
    try:
        amount = Decimal(amount_text) if amount_text else None
        if amount is not None and not amount.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        messages.error(request, _("%(v)s is not an amount in yuan.") % {"v": amount_text[:40]})
        return _back()
    invoice = Invoice.objects.filter(number=number).only("pk").first()
    if invoice is None:
        messages.error(request, _("There is no invoice numbered %(n)s.") % {"n": number[:48]})
        return _back()
    try:
        match = assign(actor=request.user, payment_id=pk, invoice_id=invoice.pk, amount=amount)
    except (ValidationError, Conflict, Http404) as exc:
        for _field, text in messages_of(exc):
            messages.error(request, text)
        return _back()
    messages.success(request, _("%(a)s yuan applied to %(n)s.") % {"a": f"{match.amount:.2f}", "n": number})
    return _back()


def _to_invoice(pk: int):
    return redirect(reverse("frontend:invoice", args=[pk]) + "#payment")


@require_POST
@role_required(*FINANCE)
def fapiao_record(request, pk: int):
    from billing.services.fapiao import fapiao_record as record

    form = FapiaoForm(request.POST, request.FILES)
    if not form.is_valid():
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{form.fields[field].label if field in form.fields else ''}: {error}")
        return _to_invoice(pk)
    v = form.cleaned_data
    upload = v.get("file")
    try:
        fapiao = record(
            actor=request.user,
            invoice_id=pk,
            number=v["number"],
            kind=v["kind"],
            issued_on=v["issued_on"],
            buyer_name=v["buyer_name"],
            buyer_tax_id=v["buyer_tax_id"],
            tax_rate=Decimal(v["tax_rate"]),
            tax_amount=v["tax_amount"],
            file_name=upload.name if upload else "",
            file_content=b"".join(upload.chunks()) if upload else b"",
        )
    except (ValidationError, Conflict) as exc:  # 403 and 404 pass on to their pages
        for _field, text in messages_of(exc):
            messages.error(request, text)
        return _to_invoice(pk)
    messages.success(request, _("Fapiao %(n)s is recorded.") % {"n": fapiao.number})
    return _to_invoice(pk)


@require_POST
@role_required(*FINANCE)
def red_letter_record(request, pk: int):
    from billing.services.fapiao import red_letter_record as record

    form = RedLetterForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return _to_invoice(pk)
    try:
        red = record(
            actor=request.user,
            credit_note_id=pk,
            number=form.cleaned_data["number"],
            confirmed_on=form.cleaned_data["confirmed_on"],
        )
    except (ValidationError, Conflict) as exc:
        for _field, text in messages_of(exc):
            messages.error(request, text)
        return _to_invoice(pk)
    messages.success(request, _("Red-letter confirmation %(n)s is recorded.") % {"n": red.number})
    return _to_invoice(pk)
