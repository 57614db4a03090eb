"""Finance lists: drafts are told apart until numbered; counts are of what the viewer may see."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import Invoice, InvoiceRun
from billing.services.invoicing import run_period
from facilities.models import RateCard

from .factories.billing import book, complete

SEPT = dt.datetime(2026, 9, 14, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def two_payers(world):
    RateCard.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=Decimal("100.00"))
    for n, who in enumerate([world.researcher, world.outsider]):
        complete(book(requester=who, instrument=world.instrument, start=SEPT + dt.timedelta(days=n), hours=2))
    run_period(period="2026-09")
    return world


def test_drafts_are_told_apart_in_the_list(two_payers):
    w = two_payers
    drafts = list(Invoice.objects.filter(period="2026-09", number__isnull=True).order_by("pk"))
    assert len(drafts) == 2
    page = client_for(w.admin).get(reverse("frontend:finance"), {"period": "2026-09"}).content.decode()
    for d in drafts:
        assert f'<a href="/finance/invoices/{d.pk}/">Draft #{d.pk}</a>' in page
    detail = client_for(w.admin).get(reverse("frontend:invoice", args=[drafts[0].pk])).content.decode()
    assert f"<title>Draft #{drafts[0].pk}" in detail


def test_a_run_counts_only_the_invoices_the_viewer_may_see(two_payers):
    w = two_payers
    run = InvoiceRun.objects.get(period="2026-09")
    assert run.invoices_touched == 2  # the run's own count, over every institution

    def shown(user) -> str:
        html = client_for(user).get(reverse("frontend:finance_runs")).content.decode()
        return re.search(rf'data-run="{run.pk}".*?data-visible-invoices>(\d+)<', html, re.S)[1]

    assert shown(w.finance) == "1"  # USTC's finance sees USTC's invoice only
    assert shown(w.admin) == "2"
    page = client_for(w.finance).get(reverse("frontend:finance")).content.decode()
    assert "Invoices you can see" in page and "Invoices touched" not in page


def test_the_runs_list_keeps_a_fixed_number_of_queries(two_payers, django_assert_max_num_queries):
    w = two_payers
    for month in ("2026-07", "2026-08"):
        run_period(period=month)
    c = client_for(w.finance)
    with django_assert_max_num_queries(8):
        assert c.get(reverse("frontend:finance_runs")).status_code == 200
