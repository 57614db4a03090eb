"""POST /api/v1/stripe/webhook/: Stripe tells us an invoice was paid or voided.

The signature is checked against STRIPE_WEBHOOK_SECRET (a forged or altered body is refused with 400).
Each event id is handled once (a replay answers 200 and changes nothing); events that arrive out of
order cannot undo a later state (a void invoice is never resurrected by a late `invoice.paid`)."""

import json
import logging

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..models import Invoice, StripeEvent
from ..services.invoicing import invoice_mark_paid, invoice_mark_void

log = logging.getLogger(__name__)
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
                    if kind in PAID:
                        invoice = invoice_mark_paid(invoice_id=invoice.pk)
                    elif kind in VOIDED:
                        invoice = invoice_mark_void(invoice_id=invoice.pk)
                    if obj.get("status"):
                        Invoice.objects.filter(pk=invoice.pk).update(stripe_status=str(obj["status"])[:24])
                    outcome = f"{invoice.number}: {before} → {invoice.status}" if invoice.status != before else f"{invoice.number}: stays {invoice.status}"
            record.outcome = outcome[:200]
            record.save(update_fields=["invoice", "outcome"])
    except IntegrityError:
        return "duplicate"
    return outcome


@csrf_exempt
@require_POST
def stripe_webhook(request):
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        return JsonResponse({"detail": "Stripe webhooks are not configured on this server (STRIPE_WEBHOOK_SECRET)."}, status=503)
    try:
        event = stripe.Webhook.construct_event(request.body, request.headers.get("Stripe-Signature", ""), secret)
    except stripe.SignatureVerificationError:
        return JsonResponse({"detail": "The Stripe-Signature header does not match this body."}, status=400)
    except ValueError:
        return JsonResponse({"detail": "The body is not a Stripe event in JSON."}, status=400)
    payload = event.to_dict() if hasattr(event, "to_dict") else json.loads(request.body)
    outcome = handle_event(payload)
    log.info("Stripe event %s (%s): %s", payload.get("id"), payload.get("type"), outcome)
    return JsonResponse({"received": True, "outcome": outcome})
