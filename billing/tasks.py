"""Background work of billing: thin adapters over its services. Tasks take ids, run after commit and are
idempotent. The services start them by the names in services/background.py, never by importing this module."""

import stripe
from celery import Task, shared_task

from .periods import parse_period, previous_period
from .services import background, collection, invoicing, runs


def _backoff(task: Task) -> int:
    return min(600, 30 * 2**task.request.retries)


@shared_task(name="billing.run_monthly_invoices")
def run_monthly_invoices(period: str | None = None) -> dict:
    """Build the invoices of `period` (YYYY-MM; default: last month in Asia/Shanghai). Running it again
    changes nothing."""
    run = invoicing.run_period(period=parse_period(period) if period else previous_period())
    return {"run": run.pk, "period": run.period, "lines_added": run.lines_added, "invoices": run.invoices_touched}


@shared_task(name=background.EXECUTE_INVOICE_RUN)
def execute_invoice_run(run_id: int) -> None:
    invoicing.invoice_run_execute(run_id=run_id)


@shared_task(name="billing.fail_stale_invoice_runs")
def fail_stale_invoice_runs() -> int:
    """Runs whose process stopped are marked failed, with the reason, for finance to resume."""
    return runs.invoice_runs_fail_stale()


@shared_task(bind=True, name=background.SEND_INVOICE_TO_STRIPE, max_retries=8)
def send_invoice_to_stripe(self: Task, invoice_id: int) -> str | None:
    """Create, finalize and send the Stripe invoice. A retry repeats the same idempotent requests."""
    try:
        return collection.invoice_send_to_stripe(invoice_id=invoice_id)
    except stripe.StripeError as exc:
        if self.request.is_eager:
            return None  # in-process: keep the issue itself successful; `manage.py stripe_resend` sends again
        raise self.retry(exc=exc, countdown=_backoff(self)) from exc


@shared_task(bind=True, name=background.VOID_INVOICE_IN_STRIPE, max_retries=8)
def void_invoice_in_stripe(self: Task, invoice_id: int) -> None:
    """Void the Stripe invoice of an invoice voided here; idempotent like the sending."""
    try:
        collection.invoice_void_in_stripe(invoice_id=invoice_id)
    except stripe.StripeError as exc:
        if not self.request.is_eager:
            raise self.retry(exc=exc, countdown=_backoff(self)) from exc
