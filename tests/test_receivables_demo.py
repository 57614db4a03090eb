"""The demo's receivables: every issuer has a bank account, payers have valid tax ids, the demo
statements pay some invoices in full and one in part and leave a transfer to assign; seeding again
imports nothing new."""

import pytest
from django.db import transaction

from billing.demo import load_demo_billing
from billing.demo_receivables import load_demo_receivables
from billing.models import BankAccount, BankPayment, BuyerTaxInfo, Invoice
from billing.receivables import balance_of
from billing.validators import validate_tax_id
from booking.demo import load_demo_history
from facilities.seed import load_catalog, load_demo_people


@pytest.mark.slow
@pytest.mark.django_db
def test_demo_receivables_have_content_and_seeding_again_changes_nothing():
    with transaction.atomic():
        load_catalog()
        load_demo_people()
        load_demo_history()
        load_demo_billing()
        first = load_demo_receivables()
        issuers = set(Invoice.objects.filter(kind="invoice").values_list("issuer_id", flat=True))
        assert set(BankAccount.objects.values_list("institution_id", flat=True)) == issuers
        for info in BuyerTaxInfo.objects.all():
            validate_tax_id(info.tax_id)
        assert first["payments_new"] > first["payments_matched"] > 0
        states = {
            balance_of(inv).state for inv in Invoice.objects.filter(kind="invoice", status__in=["issued", "paid"])
        }
        assert {"paid", "partly_paid"} <= states
        assert BankPayment.objects.filter(status="unmatched").exists()
        before = BankPayment.objects.count()
        again = load_demo_receivables()
        assert again == {"bank_accounts": 0, "tax_profiles": 0, "payments_new": 0, "payments_matched": 0}
        assert BankPayment.objects.count() == before
        transaction.set_rollback(True)
