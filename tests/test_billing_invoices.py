"""Invoice runs, numbering, the life of an invoice, and who may see and do what."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Invoice, InvoiceLine, InvoiceRun
from billing.services.invoicing import run_period
from facilities.models import RateCard
from facilities.models.tenants import Role

from .factories.billing import AgencyFactory, InnovationVoucherFactory, book, complete
from .factories.facilities import FacilityFactory, InstitutionFactory, InstrumentFactory, UserFactory, member

D = Decimal
TZ = dt.timezone(dt.timedelta(hours=8))
SEPT = dt.datetime(2026, 9, 14, 9, 0, tzinfo=TZ)


pytestmark = pytest.mark.usefixtures("tasks_in_process")


@pytest.fixture
def billed(world):
    """Two completed September bookings of the USTC researcher at SARI's facility, one of the ZJU
    researcher; a USTC voucher from an agency."""
    RateCard.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=D("250.50"))
    InnovationVoucherFactory(agency=AgencyFactory(code="HFSTB"), holder=world.ustc, percent=D("20"), cap=D("10000.00"))
    for i in range(2):
        complete(book(requester=world.researcher, instrument=world.instrument, start=SEPT + dt.timedelta(days=i)))
    complete(book(requester=world.outsider, instrument=world.instrument, start=SEPT + dt.timedelta(days=3)))
    return world


@pytest.fixture(autouse=True)
def _commits(django_capture_on_commit_callbacks):
    """Test transactions never commit; run what the services hand over "after commit" at once."""
    global run_after_commit
    run_after_commit = django_capture_on_commit_callbacks


def api_run(w, user, period="2026-09"):
    """POST a run; when accepted, answer with the run as GET shows it once the worker is done."""
    with run_after_commit(execute=True):
        response = w.client(user).post("/api/v1/invoices/runs/", {"period": period}, format="json")
    if response.status_code != 202:
        return response
    return w.client(user).get(f"/api/v1/invoices/runs/{response.json()['id']}/")


def test_run_builds_one_invoice_per_issuer_payer_and_month(billed):
    w = billed
    r = api_run(w, w.finance)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "done" and body["processed"] == body["total"] == 5
    invoices = {(i.issuer.code, i.payer.code): i for i in Invoice.objects.select_related("issuer", "payer")}
    assert set(invoices) == {("SARI", "USTC"), ("SARI", "HFSTB"), ("SARI", "ZJU")}
    # 2 h at 250.50 = 501.00 each; the voucher covers 20 % = 100.20
    assert invoices[("SARI", "USTC")].total == D("801.60")
    assert invoices[("SARI", "HFSTB")].total == D("200.40")
    assert invoices[("SARI", "ZJU")].total == D("501.00")
    run = InvoiceRun.objects.get(pk=body["id"])
    assert w.client(w.finance).get(f"/api/v1/invoices/runs/{run.pk}/").json()["processed"] == 5


def test_running_again_changes_nothing(billed):
    w = billed
    api_run(w, w.finance)
    before = list(Invoice.objects.values_list("id", "total", "status").order_by("id"))
    lines = InvoiceLine.objects.count()
    second = api_run(w, w.admin).json()
    assert second["lines_added"] == 0 and second["invoices_touched"] == 0
    assert list(Invoice.objects.values_list("id", "total", "status").order_by("id")) == before
    assert InvoiceLine.objects.count() == lines


def test_a_late_charge_joins_the_draft_or_a_new_draft_once_issued(billed):
    w = billed
    run_period(period="2026-09")
    draft = Invoice.objects.get(payer=w.zju)
    complete(book(requester=w.outsider, instrument=w.instrument, start=SEPT + dt.timedelta(days=5)))
    run_period(period="2026-09")
    draft.refresh_from_db()
    assert draft.total == D("1002.00") and draft.lines.count() == 2
    sari_fin = UserFactory(username="sari-fin")
    member(sari_fin, w.sari, Role.FINANCE)
    assert w.client(sari_fin).post(f"/api/v1/invoices/{draft.pk}/issue/").status_code == 200
    complete(book(requester=w.outsider, instrument=w.instrument, start=SEPT + dt.timedelta(days=7)))
    run_period(period="2026-09")
    zju = Invoice.objects.filter(payer=w.zju).order_by("id")
    assert [(i.status, i.total) for i in zju] == [("issued", D("1002.00")), ("draft", D("501.00"))]


def test_a_wrong_period_is_a_400_that_says_why(billed):
    for bad in ("2026-13", "September", "", None, 5):
        r = api_run(billed, billed.finance, bad)
        assert r.status_code == 400 and "YYYY-MM" in str(r.json()), (bad, r.content)
    assert billed.client(billed.finance).post("/api/v1/invoices/runs/", [1], format="json").status_code == 400


def test_researchers_managers_and_anonymous_cannot_run(billed):
    w = billed
    assert api_run(w, w.researcher).status_code == 403
    assert api_run(w, w.manager).status_code == 403
    assert api_run(w, None).status_code in (401, 403)
    assert not Invoice.objects.exists()


@pytest.fixture
def issued(billed):
    w = billed
    run_period(period="2026-09")
    sari_fin = UserFactory(username="sari-fin")
    member(sari_fin, w.sari, Role.FINANCE)
    w.sari_fin = sari_fin
    return w


def test_finance_sees_only_invoices_of_its_institution(issued):
    w = issued
    ustc = w.client(w.finance).get("/api/v1/invoices/?period=2026-09").json()
    assert [(i["issuer"], i["payer"]) for i in ustc["results"]] == [("SARI", "USTC")]
    item = ustc["results"][0]
    assert item["currency"] == "CNY" and item["total"] == "801.60"
    assert {line["amount"] for line in item["lines"]} == {"400.80"}
    assert all(set(line) >= {"booking", "account", "percent", "amount"} for line in item["lines"])
    sari = w.client(w.sari_fin).get("/api/v1/invoices/?period=2026-09").json()
    assert sari["count"] == 3
    zju_fin = UserFactory(username="zju-fin")
    member(zju_fin, w.zju, Role.FINANCE)
    ustc_invoice = Invoice.objects.get(payer=w.ustc)
    assert w.client(zju_fin).get(f"/api/v1/invoices/{ustc_invoice.pk}/").status_code == 404
    assert w.client(zju_fin).get(f"/api/v1/invoices/{ustc_invoice.pk}/export/?format=csv").status_code == 404
    for nobody in (w.researcher, w.manager, w.outsider):
        assert w.client(nobody).get("/api/v1/invoices/").json()["count"] == 0
        assert w.client(nobody).get(f"/api/v1/invoices/{ustc_invoice.pk}/").status_code == 404
    assert w.client(None).get("/api/v1/invoices/").status_code in (401, 403)


def test_only_the_issuers_finance_may_issue_void_or_credit(issued):
    w = issued
    inv = Invoice.objects.get(payer=w.ustc)
    assert w.client(w.finance).post(f"/api/v1/invoices/{inv.pk}/issue/").status_code == 403
    assert w.client(w.researcher).post(f"/api/v1/invoices/{inv.pk}/issue/").status_code == 404
    assert w.client(w.finance).post(f"/api/v1/invoices/{inv.pk}/void/").status_code == 403
    inv.refresh_from_db()
    assert inv.status == "draft" and inv.number is None


def test_numbers_per_issuer_without_gaps_and_issued_is_final(issued):
    w = issued
    c = w.client(w.sari_fin)
    year = dt.datetime.now(TZ).year
    numbers = []
    for inv in Invoice.objects.order_by("id"):
        r = c.post(f"/api/v1/invoices/{inv.pk}/issue/")
        assert r.status_code == 200, r.content
        numbers.append(r.json()["number"])
    assert numbers == [f"SARI-{year}-0001", f"SARI-{year}-0002", f"SARI-{year}-0003"]
    again = c.post(f"/api/v1/invoices/{Invoice.objects.first().pk}/issue/")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_credit_note_reverses_an_issued_invoice_in_full_once(issued):
    w = issued
    c = w.client(w.sari_fin)
    inv = Invoice.objects.get(payer=w.ustc)
    c.post(f"/api/v1/invoices/{inv.pk}/issue/")
    r = c.post(f"/api/v1/invoices/{inv.pk}/credit-note/", {"reason": "wrong rate"}, format="json")
    assert r.status_code == 201, r.content
    note = r.json()
    assert note["kind"] == "credit_note" and note["credit_of"] == inv.pk and note["total"] == "-801.60"
    assert note["number"].startswith("SARI-") and note["status"] == "issued"
    assert c.post(f"/api/v1/invoices/{inv.pk}/credit-note/").status_code == 409
    inv.refresh_from_db()
    assert inv.total == D("801.60") and inv.status == "issued"


def test_void_a_draft_frees_its_lines_for_the_next_run(issued):
    w = issued
    c = w.client(w.sari_fin)
    inv = Invoice.objects.get(payer=w.zju)
    assert c.post(f"/api/v1/invoices/{inv.pk}/void/", {"reason": "recompute"}, format="json").json()["status"] == "void"
    run = run_period(period="2026-09")
    assert run.lines_added == 1
    assert Invoice.objects.get(payer=w.zju, status="draft").total == D("501.00")


def test_void_an_issued_invoice_but_never_a_paid_one(issued):
    w = issued
    c = w.client(w.sari_fin)
    inv = Invoice.objects.get(payer=w.zju)
    c.post(f"/api/v1/invoices/{inv.pk}/issue/")
    Invoice.objects.filter(pk=inv.pk).update(status="paid")
    r = c.post(f"/api/v1/invoices/{inv.pk}/void/")
    assert r.status_code == 409 and "paid" in r.json()["detail"]


def test_invoice_list_query_count_does_not_grow_with_invoices(world):
    RateCard.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=D("100"))
    admin = world.client(world.admin)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert admin.get("/api/v1/invoices/").status_code == 200
        return len(ctx)

    complete(book(requester=world.researcher, instrument=world.instrument, start=SEPT))
    run_period(period="2026-09")
    few = queries()
    for i in range(4):
        facility = FacilityFactory(code=f"F{i}", host=InstitutionFactory(code=f"HOST{i}"))
        instrument = InstrumentFactory(facility=facility, code=f"X{i}")
        RateCard.objects.create(instrument=instrument, user_class="external_academic", hourly_rate=D("100"))
        complete(book(requester=world.researcher, instrument=instrument, start=SEPT + dt.timedelta(days=i + 1)))
    run_period(period="2026-09")
    assert Invoice.objects.count() == 5
    assert queries() == few


def test_monthly_task_defaults_to_last_month_and_is_idempotent(billed, monkeypatch):
    from billing import periods
    from billing.tasks import run_monthly_invoices

    monkeypatch.setattr(periods.timezone, "now", lambda: dt.datetime(2026, 10, 1, 0, 30, tzinfo=TZ))
    assert periods.previous_period() == "2026-09"
    first = run_monthly_invoices.delay().get()
    assert first["period"] == "2026-09" and first["lines_added"] == 5
    assert run_monthly_invoices.delay("2026-09").get()["lines_added"] == 0
    assert InvoiceLine.objects.count() == 5


def test_run_invoices_command(billed):
    import io

    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command("run_invoices", "2026-09", stdout=out)
    assert "5 lines placed on 3 invoices" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("run_invoices", "2026/09")
