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
    return {
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
