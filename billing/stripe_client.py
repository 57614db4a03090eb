"""Collecting an issued invoice through Stripe Invoices with the official library.

Every request carries a deterministic idempotency key derived from the invoice number (and the line),
so a task that is retried after a crash or a timeout replays the same requests and Stripe answers with
the objects it already created: nothing is billed twice."""

import logging
from typing import TYPE_CHECKING

import stripe
from django.conf import settings

from .models import BillingProfile, Invoice, InvoiceKind, InvoiceStatus
from .money import to_fen

if TYPE_CHECKING:
    from stripe.params import CustomerCreateParams

log = logging.getLogger(__name__)
MAX_ITEMS = 250  # Stripe's limit of line items on one invoice; beyond it lines are summed per account


def configured() -> bool:
    return bool(settings.STRIPE_API_KEY)


def configure() -> None:
    stripe.api_key = settings.STRIPE_API_KEY
    if settings.STRIPE_API_BASE:
        stripe.api_base = settings.STRIPE_API_BASE.rstrip("/")


def _customer_for(invoice: Invoice) -> str:
    profile, _ = BillingProfile.objects.get_or_create(institution=invoice.payer)
    if profile.stripe_customer_id:
        return profile.stripe_customer_id
    payer = invoice.payer
    params: CustomerCreateParams = {
        "name": payer.name,
        "metadata": {"sanjiao_institution": payer.code},
        "idempotency_key": f"sanjiao-customer-{payer.code}",
    }
    if profile.billing_email:
        params["email"] = profile.billing_email
    customer = stripe.Customer.create(**params)
    BillingProfile.objects.filter(pk=profile.pk).update(stripe_customer_id=customer.id)
    return customer.id


def _items(invoice: Invoice):
    """(idempotency key suffix, amount in fen, description) per Stripe invoice item."""
    count = invoice.lines.count()
    if count <= MAX_ITEMS:
        for line in invoice.lines.select_related("account").order_by("id").iterator(chunk_size=1000):
            payer = line.account.code if line.account else "innovation voucher"
            yield f"item-{line.pk}", to_fen(line.amount), f"Booking #{line.booking_id} · {payer} · {line.percent}%"
        return
    sums: dict = {}
    for account_id, code, amount in invoice.lines.values_list("account_id", "account__code", "amount").iterator(
        chunk_size=5000
    ):
        key = account_id or 0
        label, fen, n = sums.get(key, (code or "innovation voucher", 0, 0))
        sums[key] = (label, fen + to_fen(amount), n + 1)
    for key, (label, fen, n) in sorted(sums.items()):
        yield f"account-{key}", fen, f"{n} booking shares · {label}"


def push_invoice(invoice: Invoice) -> str:
    """Create (or find again) the Stripe invoice of an issued invoice, finalize and send it.
    Returns the Stripe invoice id. Raises stripe.StripeError on failure (the caller retries)."""
    if invoice.kind != InvoiceKind.INVOICE or invoice.status != InvoiceStatus.ISSUED or not invoice.number:
        raise ValueError(f"Only issued invoices are sent through Stripe; {invoice} is not one.")
    configure()
    prefix = f"sanjiao-{invoice.number}"
    customer_id = _customer_for(invoice)
    stripe_invoice = stripe.Invoice.create(
        customer=customer_id,
        collection_method="send_invoice",
        days_until_due=getattr(settings, "BILLING_DAYS_UNTIL_DUE", 30),
        currency="cny",
        auto_advance=False,
        pending_invoice_items_behavior="exclude",
        description=f"{invoice.number} · {invoice.issuer.name} · {invoice.period}",
        metadata={"sanjiao_invoice_id": str(invoice.pk), "sanjiao_number": invoice.number},
        idempotency_key=f"{prefix}-invoice",
    )
    Invoice.objects.filter(pk=invoice.pk).update(
        stripe_invoice_id=stripe_invoice.id, stripe_status=stripe_invoice.status or "draft"
    )
    for suffix, fen, description in _items(invoice):
        stripe.InvoiceItem.create(
            customer=customer_id,
            invoice=stripe_invoice.id,
            amount=fen,
            currency="cny",
            description=description,
            idempotency_key=f"{prefix}-{suffix}",
        )
    finalized = stripe.Invoice.finalize_invoice(stripe_invoice.id, idempotency_key=f"{prefix}-finalize")
    if finalized.amount_due != to_fen(invoice.total):
        log.error(
            "Stripe invoice %s is due %s fen, %s totals %s",
            finalized.id,
            finalized.amount_due,
            invoice.number,
            invoice.total,
        )
    sent = stripe.Invoice.send_invoice(stripe_invoice.id, idempotency_key=f"{prefix}-send")
    Invoice.objects.filter(pk=invoice.pk).update(stripe_status=sent.status or "open")
    return stripe_invoice.id


def void_remote(invoice: Invoice) -> None:
    """Void the Stripe counterpart of an invoice voided here (an open Stripe invoice can be voided)."""
    if not invoice.stripe_invoice_id:
        return
    configure()
    voided = stripe.Invoice.void_invoice(invoice.stripe_invoice_id, idempotency_key=f"sanjiao-{invoice.number}-void")
    Invoice.objects.filter(pk=invoice.pk).update(stripe_status=voided.status or "void")
