"""POST /api/v1/stripe/webhook/: Stripe tells us an invoice was paid or voided.

The signature is checked against STRIPE_WEBHOOK_SECRET (a forged or altered body is refused with 400),
then the shape of the event (anything but Stripe's shape is a 400, never a 500). Each event id is handled
once (a replay answers 200 and changes nothing); an event acts only on the invoice whose Stripe id,
currency and total it matches; events that arrive out of order cannot undo a later state (a void invoice
is never resurrected by a late `invoice.paid`). billing/services/stripe_events.py decides all of that."""

import logging

import stripe
from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ..services.stripe_events import handle_event, parse_event

log = logging.getLogger(__name__)


class StripeWebhook(APIView):
    authentication_classes: list = []  # Stripe signs its events; it holds no session or token here
    permission_classes = [permissions.AllowAny]
    # The body is read as it came (request.body), since the signature covers its exact bytes; nothing
    # here reads request.data.

    @extend_schema(
        operation_id="stripe_webhook",
        tags=["stripe"],
        summary="Receive a signed Stripe event",
        description=(
            "Called by Stripe, not by people: the body is a Stripe event signed with the endpoint's secret "
            "(`STRIPE_WEBHOOK_SECRET`) in the `Stripe-Signature` header. `invoice.paid`, "
            "`invoice.payment_succeeded` and `invoice.voided` act on the invoice whose Stripe id, currency and "
            "total they match; other events are acknowledged and ignored. A replayed event id changes nothing."
        ),
        auth=[],
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "Stripe-Signature",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="`t=<unix time>,v1=<HMAC-SHA256 of '<t>.<body>' with the endpoint's secret>`",
            )
        ],
        responses={
            200: inline_serializer(
                "StripeWebhookReceived",
                {"received": serializers.BooleanField(), "outcome": serializers.CharField()},
            ),
            400: OpenApiResponse(description="The signature does not match the body, or the body is not an event."),
            503: OpenApiResponse(description="This server has no STRIPE_WEBHOOK_SECRET configured."),
        },
    )
    def post(self, request):
        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            return Response(
                {"detail": _("Stripe webhooks are not configured on this server (STRIPE_WEBHOOK_SECRET).")}, status=503
            )
        try:
            body = request.body.decode("utf-8")  # Stripe signs text; the library would fail on other bytes
        except UnicodeDecodeError:
            return Response({"detail": _("The body is not UTF-8 text, so it is not a Stripe event.")}, status=400)
        try:
            stripe.WebhookSignature.verify_header(
                body, request.headers.get("Stripe-Signature", ""), secret, tolerance=stripe.Webhook.DEFAULT_TOLERANCE
            )
        except stripe.SignatureVerificationError:
            return Response({"detail": _("The Stripe-Signature header does not match this body.")}, status=400)
        event = parse_event(body)  # a ValidationError here is a 400 that says what is wrong
        outcome = handle_event(event)
        log.info("Stripe event %s (%s): %s", event.id, event.type, outcome)
        return Response({"received": True, "outcome": outcome})


stripe_webhook = StripeWebhook.as_view()
