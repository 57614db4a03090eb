"""POST /api/v1/stripe/webhook/: Stripe tells us an invoice was paid or voided.

The signature is checked against STRIPE_WEBHOOK_SECRET (a forged or altered body is refused with 400).
Each event id is handled once (a replay answers 200 and changes nothing); events that arrive out of
order cannot undo a later state (a void invoice is never resurrected by a late `invoice.paid`)."""

import json
import logging

import stripe
from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..services.stripe_events import handle_event

log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        return JsonResponse(
            {"detail": "Stripe webhooks are not configured on this server (STRIPE_WEBHOOK_SECRET)."}, status=503
        )
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
