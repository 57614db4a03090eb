"""Background work of billing. Tasks take ids, run after commit and are idempotent."""

import logging

import stripe
from celery import shared_task

from .models import Invoice, InvoiceStatus
from .periods import parse_period, previous_period

log = logging.getLogger(__name__)


@shared_task(name="billing.run_monthly_invoices")
def run_monthly_invoices(period: str | None = None) -> dict:
    """Build the invoices of `period` (YYYY-MM; default: last month in Asia/Shanghai). Running it again
    changes nothing."""
    from .services.invoicing import run_period

    run = run_period(period=parse_period(period) if period else previous_period())
    return {"run": run.pk, "period": run.period, "lines_added": run.lines_added, "invoices": run.invoices_touched}


@shared_task(name="billing.execute_invoice_run")
def execute_invoice_run(run_id: int) -> None:
    from .services.invoicing import invoice_run_execute

    invoice_run_execute(run_id=run_id)


@shared_task(bind=True, name="billing.send_invoice_to_stripe", max_retries=8)
def send_invoice_to_stripe(self, invoice_id: int) -> str | None:
    """Create, finalize and send the Stripe invoice. A retry repeats the same idempotent requests."""
    from . import stripe_client

    invoice = Invoice.objects.select_related("issuer", "payer").filter(pk=invoice_id).first()
    if invoice is None or invoice.status != InvoiceStatus.ISSUED or invoice.stripe_status in ("open", "paid", "void"):
        return invoice.stripe_invoice_id if invoice else None
    try:
        return stripe_client.push_invoice(invoice)
    except stripe.StripeError as exc:
        Invoice.objects.filter(pk=invoice_id).update(stripe_status="failed")
        log.warning("Sending %s to Stripe failed: %s", invoice.number, exc)
        if self.request.is_eager:
            return None  # in-process: keep the issue itself successful; `manage.py stripe_resend` sends again
        raise self.retry(exc=exc, countdown=min(600, 30 * 2 ** self.request.retries))


@shared_task(bind=True, name="billing.void_invoice_in_stripe", max_retries=8)
def void_invoice_in_stripe(self, invoice_id: int) -> None:
    """Void the Stripe invoice of an invoice voided here; idempotent like the sending."""
    from . import stripe_client

    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None or invoice.status != InvoiceStatus.VOID or not invoice.stripe_invoice_id or invoice.stripe_status == "void":
        return
    try:
        stripe_client.void_remote(invoice)
    except stripe.StripeError as exc:
        log.warning("Voiding %s in Stripe failed: %s", invoice.number, exc)
        if not self.request.is_eager:
            raise self.retry(exc=exc, countdown=min(600, 30 * 2 ** self.request.retries))
