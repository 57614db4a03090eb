"""Applying a verified Stripe event: each event id once, never undoing a later state (a void invoice is
not resurrected by a late `invoice.paid`), and never trusting what an event says about itself.

A signature only proves that Stripe sent the event, not that it is about what this platform sent: an
`invoice.*` event acts on a local invoice only when its Stripe invoice id, currency and total are the
ones this platform sent for that invoice (billing/stripe_client.py). Anything else is logged and ignored.
A body that is not an event of Stripe's shape is refused with a ValidationError (400) before anything
is read from the database."""

import json
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from common.parsing import json_type

from ..models import Invoice, StripeEvent
from ..money import to_fen
from .invoicing import invoice_mark_paid, invoice_mark_void

log = logging.getLogger(__name__)

PAID = {"invoice.paid", "invoice.payment_succeeded"}
VOIDED = {"invoice.voided"}
MAX_EVENT_ID_LENGTH = 255  # StripeEvent.event_id


@dataclass(frozen=True)
class StripeEventData:
    """The parts of a Stripe event this platform reads, each of the type Stripe documents."""

    id: str
    type: str
    object: dict


def parse_event(body: str) -> StripeEventData:
    """A verified webhook body → the event, or a ValidationError saying what is not of Stripe's shape."""
    try:
        payload = json.loads(body)
    except RecursionError:
        raise ValidationError(_("The body is not a Stripe event: it is nested too deeply.")) from None
    except ValueError:
        raise ValidationError(_("The body is not a Stripe event in JSON.")) from None
    if not isinstance(payload, dict):
        raise ValidationError(
            _("A Stripe event is a JSON object, not %(json_type)s.") % {"json_type": json_type(payload)}
        )
    event_id, kind, data = payload.get("id"), payload.get("type"), payload.get("data")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID_LENGTH:
        raise ValidationError(
            _('A Stripe event has an "id" of 1 to %(max_event_id_length)s characters.')
            % {"max_event_id_length": MAX_EVENT_ID_LENGTH}
        )
    if not isinstance(kind, str) or not kind:
        raise ValidationError(
            _('A Stripe event has a "type" that is text, not %(json_type)s.') % {"json_type": json_type(kind)}
        )
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise ValidationError(_('A Stripe event carries its object as "data": {"object": {…}}.'))
    obj = data["object"]
    if "metadata" in obj and obj["metadata"] is not None and not isinstance(obj["metadata"], dict):
        raise ValidationError(
            _('An object\'s "metadata" is an object, not %(json_type)s.') % {"json_type": json_type(obj["metadata"])}
        )
    return StripeEventData(id=event_id, type=kind, object=obj)


def _mismatch(obj: dict, invoice: Invoice) -> str:
    """Why this Stripe invoice is not the one sent for `invoice` (an empty string when it is)."""
    local_id = (obj.get("metadata") or {}).get("sanjiao_invoice_id")
    if local_id is not None and local_id != str(invoice.pk):
        return f"metadata names invoice {str(local_id)[:40]!r}, not {invoice.pk}"
    currency = obj.get("currency")
    if not isinstance(currency, str) or currency.lower() != invoice.currency.lower():
        return f"currency {str(currency)[:8]!r} is not {invoice.currency}"
    total = obj.get("total")
    expected = to_fen(invoice.total)
    if isinstance(total, bool) or not isinstance(total, int) or total != expected:
        return f"total {str(total)[:24]} fen is not the {expected} fen sent"
    return ""


def _matching_invoice(event: StripeEventData) -> tuple[Invoice | None, str]:
    """The local invoice this event is about, or None with the reason it is ignored."""
    stripe_id = event.object.get("id")
    if not isinstance(stripe_id, str) or not stripe_id or len(stripe_id) > 64:
        return None, "ignored: no Stripe invoice id"
    invoice = Invoice.objects.filter(stripe_invoice_id=stripe_id).first()
    if invoice is None:
        return None, "ignored: no invoice was sent to Stripe as " + stripe_id
    reason = _mismatch(event.object, invoice)
    if reason:
        log.warning("Stripe event %s (%s) ignored for %s: %s", event.id, event.type, invoice.number, reason)
        return None, f"ignored: {reason}"
    return invoice, ""


def handle_event(event: StripeEventData) -> str:
    """Apply one verified event; returns what happened, in words."""
    try:
        with transaction.atomic():
            record = StripeEvent.objects.create(event_id=event.id, type=event.type[:64])
            outcome = "ignored"
            if event.type.startswith("invoice."):
                invoice, outcome = _matching_invoice(event)
                if invoice is not None:
                    record.invoice = invoice
                    before = invoice.status
                    # Either returns the invoice as it now is (None only if it vanished meanwhile).
                    if event.type in PAID:
                        invoice = invoice_mark_paid(invoice_id=invoice.pk) or invoice
                    elif event.type in VOIDED:
                        invoice = invoice_mark_void(invoice_id=invoice.pk) or invoice
                    status = event.object.get("status")
                    if isinstance(status, str) and status:
                        Invoice.objects.filter(pk=invoice.pk).update(stripe_status=status[:24])
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
