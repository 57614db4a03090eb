"""Applying a verified Stripe event: each event id once, and never undoing a later state (a void
invoice is not resurrected by a late `invoice.paid`)."""

from django.db import IntegrityError, transaction

from ..models import Invoice, StripeEvent
from .invoicing import invoice_mark_paid, invoice_mark_void

PAID = {"invoice.paid", "invoice.payment_succeeded"}
VOIDED = {"invoice.voided"}


def _invoice_for(obj: dict) -> Invoice | None:
    stripe_id = obj.get("id") or ""
    invoice = Invoice.objects.filter(stripe_invoice_id=stripe_id).first() if stripe_id else None
    if invoice is None:
        local_id = (obj.get("metadata") or {}).get("sanjiao_invoice_id")
        if local_id and str(local_id).isdigit():
            invoice = Invoice.objects.filter(pk=int(local_id)).first()
    return invoice


def handle_event(event: dict) -> str:
    """Apply one verified event; returns what happened, in words."""
    event_id, kind = event.get("id"), event.get("type", "")
    if not event_id:
        return "ignored: no event id"
    obj = (event.get("data") or {}).get("object") or {}
    try:
        with transaction.atomic():
            record = StripeEvent.objects.create(event_id=event_id, type=kind[:64])
            outcome = "ignored"
            if kind.startswith("invoice."):
                invoice = _invoice_for(obj)
                if invoice is None:
                    outcome = "ignored: no matching invoice"
                else:
                    record.invoice = invoice
                    before = invoice.status
                    # Either returns the invoice as it now is (None only if it vanished meanwhile).
                    if kind in PAID:
                        invoice = invoice_mark_paid(invoice_id=invoice.pk) or invoice
                    elif kind in VOIDED:
                        invoice = invoice_mark_void(invoice_id=invoice.pk) or invoice
                    if obj.get("status"):
                        Invoice.objects.filter(pk=invoice.pk).update(stripe_status=str(obj["status"])[:24])
                    outcome = (
                        f"{invoice.number}: {before} → {invoice.status}"
                        if invoice.status != before
                        else f"{invoice.number}: stays {invoice.status}"
                    )
            record.outcome = outcome[:200]
            record.save(update_fields=["invoice", "outcome"])
    except IntegrityError:
        return "duplicate"
    return outcome
