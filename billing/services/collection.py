"""Deciding whether an issued invoice is collected through Stripe, and handing it over after commit."""

from functools import partial

from django.db import transaction

from .. import stripe_client
from ..models import BillingProfile, Invoice


def collects_with_stripe(invoice: Invoice) -> bool:
    return stripe_client.configured() and BillingProfile.objects.filter(
        institution_id=invoice.issuer_id, collect_with_stripe=True
    ).exists()


def schedule_collection(invoice: Invoice) -> bool:
    if not collects_with_stripe(invoice):
        return False
    from ..tasks import send_invoice_to_stripe

    transaction.on_commit(partial(send_invoice_to_stripe.delay, invoice.pk))
    return True
