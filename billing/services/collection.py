"""Collecting issued invoices through Stripe: whether an invoice is, handing it over after commit, and the
idempotent sending and voiding that the background tasks carry out (and retry)."""

import logging

import stripe

from .. import stripe_client
from ..models import BillingProfile, Invoice, InvoiceStatus
from .background import SEND_INVOICE_TO_STRIPE, VOID_INVOICE_IN_STRIPE, enqueue_on_commit

log = logging.getLogger(__name__)


def collects_with_stripe(invoice: Invoice) -> bool:
    return (
        stripe_client.configured()
        and BillingProfile.objects.filter(institution_id=invoice.issuer_id, collect_with_stripe=True).exists()
    )


def schedule_collection(invoice: Invoice) -> bool:
    if not collects_with_stripe(invoice):
        return False
    enqueue_on_commit(SEND_INVOICE_TO_STRIPE, invoice.pk)
    return True


def schedule_remote_void(invoice: Invoice) -> bool:
    """After a void here, void the Stripe invoice too, if there is one."""
    if not (invoice.stripe_invoice_id and stripe_client.configured()):
        return False
    enqueue_on_commit(VOID_INVOICE_IN_STRIPE, invoice.pk)
    return True


def invoice_send_to_stripe(*, invoice_id: int) -> str | None:
    """Create, finalize and send the Stripe invoice of an issued invoice; the Stripe invoice's id, or None when
    there is nothing to send. Repeating it repeats the same idempotent requests. A Stripe failure marks the
    invoice `failed` (what `manage.py stripe_resend` looks for) and is raised for the caller to retry."""
    invoice = Invoice.objects.select_related("issuer", "payer").filter(pk=invoice_id).first()
    if invoice is None or invoice.status != InvoiceStatus.ISSUED or invoice.stripe_status in ("open", "paid", "void"):
        return invoice.stripe_invoice_id if invoice else None
    try:
        return stripe_client.push_invoice(invoice)
    except stripe.StripeError as exc:
        Invoice.objects.filter(pk=invoice_id).update(stripe_status="failed")
        log.warning("Sending %s to Stripe failed: %s", invoice.number, exc)
        raise


def invoice_void_in_stripe(*, invoice_id: int) -> None:
    """Void the Stripe invoice of an invoice voided here; idempotent like the sending. A Stripe failure is
    raised for the caller to retry."""
    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if (
        invoice is None
        or invoice.status != InvoiceStatus.VOID
        or not invoice.stripe_invoice_id
        or invoice.stripe_status == "void"
    ):
        return
    try:
        stripe_client.void_remote(invoice)
    except stripe.StripeError as exc:
        log.warning("Voiding %s in Stripe failed: %s", invoice.number, exc)
        raise
