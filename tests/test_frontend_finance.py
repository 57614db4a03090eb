"""The finance console: runs, invoices, exports and charts, each scoped to the finance officer's institution."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import Invoice
from facilities.models import RateCard
from facilities.models.tenants import Role

from .factories.billing import book, complete
from .factories.facilities import FacilityFactory, InstrumentFactory, UserFactory, member

SEPT = dt.datetime(2026, 9, 14, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def charged(world):
    RateCard.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=Decimal("100.00"))
    for i in range(3):
        complete(
            book(requester=world.researcher, instrument=world.instrument, start=SEPT + dt.timedelta(days=i), hours=2)
        )
    world.sari_finance = UserFactory(username="sarifin")
    member(world.sari_finance, world.sari, Role.FINANCE)
    return world


def run_pending():
    """Do the worker's part: carry out the runs the page recorded (after commit, in-process or on a worker)."""
    from billing.models import InvoiceRun
    from billing.services.invoicing import invoice_run_execute

    for pk in InvoiceRun.objects.filter(status="pending").values_list("pk", flat=True):
        invoice_run_execute(run_id=pk)


def test_finance_runs_invoices_and_sees_them_with_exports_and_charts(charged):
    w = charged
    c = client_for(w.finance)
    assert c.get("/").headers["Location"] == reverse("frontend:finance")
    started = c.post(reverse("frontend:run_invoices"), {"period": "2026-09"}, follow=True).content.decode()
    assert "The invoice run for 2026-09 has started." in started and 'data-status="pending"' in started
    # While a run is pending the list refreshes itself; when it is done it stops asking.
    assert 'hx-trigger="every 2s"' in c.get(reverse("frontend:finance_runs")).content.decode()
    run_pending()
    assert "hx-trigger" not in c.get(reverse("frontend:finance_runs")).content.decode()
    page = c.get(reverse("frontend:finance") + "?period=2026-09").content.decode()
    assert 'data-status="done"' in page
    invoice = Invoice.objects.get(payer=w.ustc, period="2026-09")
    assert f'data-invoice="{invoice.pk}"' in page and "¥600.00" in page
    assert "3 of 3 lines" in page
    assert f"/api/v1/invoices/{invoice.pk}/export/?format=csv" in page
    assert "by payer institution" in page and "USTC: ¥600.00" in page and "FAC: ¥600.00" in page
    # The export link answers with the CSV for the same session.
    csv_response = c.get(f"/api/v1/invoices/{invoice.pk}/export/?format=csv")
    assert csv_response.status_code == 200
    # Running the month again bills nothing twice.
    c.post(reverse("frontend:run_invoices"), {"period": "2026-09"})
    run_pending()
    assert Invoice.objects.get(payer=w.ustc, period="2026-09").total == Decimal("600.00")


def test_bad_month_is_refused_in_words(charged):
    response = client_for(charged.finance).post(reverse("frontend:run_invoices"), {"period": "2026-13"})
    assert response.status_code == 400
    assert "Give the month as YYYY-MM" in response.content.decode()


def test_issuer_issues_and_credits_payer_may_not(charged):
    w = charged
    from billing.services.invoicing import run_period

    run_period(period="2026-09")
    invoice = Invoice.objects.get(payer=w.ustc)
    payer = client_for(w.finance)
    assert "Issue</button>" not in payer.get(reverse("frontend:invoice", args=[invoice.pk])).content.decode()
    assert payer.post(reverse("frontend:invoice_action", args=[invoice.pk, "issue"])).status_code == 403
    issuer = client_for(w.sari_finance)
    page = issuer.post(reverse("frontend:invoice_action", args=[invoice.pk, "issue"]), follow=True).content.decode()
    invoice.refresh_from_db()
    assert invoice.status == "issued" and f"Invoice {invoice.number} is issued." in page
    again = issuer.post(reverse("frontend:invoice_action", args=[invoice.pk, "issue"]), follow=True).content.decode()
    assert "cannot be issued" in again or "is issued and cannot" in again
    note_page = issuer.post(
        reverse("frontend:invoice_action", args=[invoice.pk, "credit-note"]),
        {"reason": "Beam time refunded"},
        follow=True,
    ).content.decode()
    note = Invoice.objects.get(kind="credit_note")
    assert note.total == -invoice.total and f"Credit note {note.number} is issued." in note_page


def test_other_institutions_and_roles_see_nothing(charged):
    w = charged
    from billing.services.invoicing import run_period

    run_period(period="2026-09")
    invoice = Invoice.objects.get(payer=w.ustc)
    zju_fin = UserFactory(username="zjufin")
    member(zju_fin, w.zju, Role.FINANCE)
    c = client_for(zju_fin)
    page = c.get(reverse("frontend:finance") + "?period=2026-09").content.decode()
    assert f'data-invoice="{invoice.pk}"' not in page and "USTC: ¥" not in page
    assert c.get(reverse("frontend:invoice", args=[invoice.pk])).status_code == 404
    for persona in (w.researcher, w.manager, w.outsider):
        assert client_for(persona).get(reverse("frontend:finance")).status_code == 403


@pytest.mark.parametrize("n", [1, 6])
def test_finance_console_queries_do_not_grow(world, n, django_assert_max_num_queries):
    from billing.services.invoicing import run_period

    for k in range(n):
        instrument = InstrumentFactory(facility=FacilityFactory(code=f"F{k}", host=world.sari if k % 2 else world.zju))
        RateCard.objects.create(instrument=instrument, user_class="external_academic", hourly_rate=Decimal("50.00"))
        complete(book(requester=world.researcher, instrument=instrument, start=SEPT + dt.timedelta(days=k), hours=1))
    run_period(period="2026-09")
    c = client_for(world.finance)
    # 14, 2 for the year's voucher redemptions and claims, and the receivables section's four: the reader's
    # institutions, invoices with balances, payments to assign, statements.
    with django_assert_max_num_queries(20):
        page = c.get(reverse("frontend:finance") + "?period=2026-09")
    assert page.content.decode().count("data-invoice=") == Invoice.objects.filter(payer=world.ustc).count() >= 1
