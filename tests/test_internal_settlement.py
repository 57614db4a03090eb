"""Internal settlement: what an institution owes itself is not invoiced but transferred from the paying
funding account to the facility's income account, and exported as journal lines that add up to the fen."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from billing.models import ChargeLine, FacilityIncomeAccount, InternalTransfer, Invoice, InvoiceLine
from billing.services.invoicing import run_period
from facilities.models import RateCard
from facilities.models.tenants import Role

from .factories.billing import book, complete
from .factories.facilities import FundingAccountFactory, UserFactory, member

D = Decimal
TZ = dt.timezone(dt.timedelta(hours=8))
SEPT = dt.datetime(2026, 9, 14, 9, 0, tzinfo=TZ)

pytestmark = pytest.mark.usefixtures("tasks_in_process")


@pytest.fixture
def sari(world):
    """A SARI scientist at SARI's own facility (internal rate 123.45 CNY/h), SARI finance, and a USTC
    colleague named on a USTC grant, for bookings split between the two institutions."""
    scientist = UserFactory(username="sari.sci")
    member(scientist, world.sari, Role.RESEARCHER)
    account = FundingAccountFactory(code="SARI-CC7", institution=world.sari, principal_investigator=scientist)
    second = FundingAccountFactory(code="SARI-CC8", institution=world.sari, principal_investigator=scientist)
    world.researcher_account.members.add(scientist)
    scientist.default_account = account
    scientist.save()
    finance = UserFactory(username="sari.fin")
    member(finance, world.sari, Role.FINANCE)
    RateCard.objects.create(instrument=world.instrument, user_class="internal", hourly_rate=D("123.45"))
    world.scientist, world.sari_account, world.sari_second, world.sari_finance = scientist, account, second, finance
    return world


def test_same_institution_charges_become_transfers_not_invoices(sari):
    w = sari
    FacilityIncomeAccount.objects.create(facility=w.facility, code="SARI-6201-FAC")
    complete(book(requester=w.scientist, instrument=w.instrument, start=SEPT, hours=3))  # 370.35
    complete(
        book(
            requester=w.scientist,
            instrument=w.instrument,
            start=SEPT + dt.timedelta(days=1),
            splits=[
                {"account": w.sari_account.pk, "percent": D("33.33")},
                {"account": w.sari_second.pk, "percent": D("33.33")},
                {"account": w.researcher_account.pk, "percent": D("33.34")},
            ],
        )
    )
    run = run_period(period="2026-09")
    assert not Invoice.objects.filter(issuer=w.sari, payer=w.sari).exists(), "nobody invoices itself"
    assert list(Invoice.objects.values_list("payer__code", flat=True)) == ["USTC"], "the USTC share is invoiced"
    transfers = list(InternalTransfer.objects.order_by("id"))
    assert [(t.debit_account.code, t.credit_account, t.amount) for t in transfers] == [
        ("SARI-CC7", "SARI-6201-FAC", D("370.35")),
        ("SARI-CC7", "SARI-6201-FAC", D("82.29")),  # 246.90 × 33.33 % = 82.2917…, by largest remainder
        ("SARI-CC8", "SARI-6201-FAC", D("82.29")),
    ]
    assert transfers[0].date == dt.date(2026, 9, 14) and transfers[0].reference.startswith("SJ-INT-2026-09-")
    same = ChargeLine.objects.filter(issuer=w.sari, payer=w.sari)
    assert sum(t.amount for t in transfers) == sum(line.amount for line in same)
    assert run.processed == run.total == 4 and run.lines_added == 4

    again = run_period(period="2026-09")
    assert (again.total, again.lines_added) == (0, 0), "running again settles and bills nothing twice"
    assert InternalTransfer.objects.count() == 3 and InvoiceLine.objects.count() == 1


def test_journal_export_csv_and_xlsx_add_up_to_the_fen(sari):
    w = sari
    for i in range(3):
        complete(book(requester=w.scientist, instrument=w.instrument, start=SEPT + dt.timedelta(days=i), hours=1))
    run_period(period="2026-09")
    fin = w.client(w.sari_finance)
    r = fin.get("/api/v1/journal/?period=2026-09&format=csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert rows[0] == ["date", "debit_account", "credit_account", "amount", "reference", "booking"]
    assert [row[:4] for row in rows[1:]] == [
        ["2026-09-14", "SARI-CC7", "FAC-INCOME", "123.45"],
        ["2026-09-15", "SARI-CC7", "FAC-INCOME", "123.45"],
        ["2026-09-16", "SARI-CC7", "FAC-INCOME", "123.45"],
    ]
    assert sum(D(row[3]) for row in rows[1:]) == D("370.35")
    r = fin.get("/api/v1/journal/?period=2026-09&format=xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(r.streaming_content)), read_only=True).active
    totals = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row and len(row) > 1}
    assert D(str(totals["Total 合计 (CNY)"])).quantize(D("0.01")) == D("370.35")
    assert "2026-09-16" in totals
    assert fin.get("/api/v1/journal/?period=2026-9").status_code == 400
    assert fin.get("/api/v1/journal/?period=2026-09&format=pdf").status_code == 400


def test_who_may_export_a_journal(sari):
    w = sari
    complete(book(requester=w.scientist, instrument=w.instrument, start=SEPT))
    run_period(period="2026-09")
    url = "/api/v1/journal/?period=2026-09&format=csv"
    assert w.client(w.finance).get(url + "&institution=SARI").status_code == 404, "USTC finance keeps no SARI books"
    r = w.client(w.finance).get(url)  # their own institution's journal: empty
    assert r.status_code == 200 and len(b"".join(r.streaming_content).decode().splitlines()) == 1
    for user in (w.scientist, w.manager, w.outsider):
        assert w.client(user).get(url).status_code == 403
    assert w.client(None).get(url).status_code in (401, 403)
    assert w.client(w.admin).get(url).status_code == 400, "an administrator names the institution"
    assert w.client(w.admin).get(url + "&institution=sari").status_code == 200


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rate=st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2),
    hours=st.integers(min_value=1, max_value=6),
    weights=st.lists(st.integers(min_value=1, max_value=97), min_size=3, max_size=3),
)
def test_transfers_and_invoice_lines_together_are_the_charge_to_the_fen(sari, rate, hours, weights):
    w = sari
    total = sum(weights)
    percents = [(D(x) * 100 / total).quantize(D("0.01")) for x in weights]
    percents[-1] = D("100") - sum(percents[:-1])
    with transaction.atomic():
        RateCard.objects.filter(instrument=w.instrument, user_class="internal").update(hourly_rate=rate)
        b = complete(
            book(
                requester=w.scientist,
                instrument=w.instrument,
                start=SEPT,
                hours=hours,
                splits=[
                    {"account": a.pk, "percent": p}
                    for a, p in zip((w.sari_account, w.sari_second, w.researcher_account), percents, strict=True)
                ],
            )
        )
        run_period(period="2026-09")
        settled = sum(InternalTransfer.objects.filter(booking=b).values_list("amount", flat=True), D(0))
        invoiced = sum(InvoiceLine.objects.filter(booking=b).values_list("amount", flat=True), D(0))
        assert settled + invoiced == b.charge.amount
        assert settled == sum(ChargeLine.objects.filter(booking=b, payer=w.sari).values_list("amount", flat=True), D(0))
        transaction.set_rollback(True)


def test_a_settled_charge_is_not_recomputed(sari):
    from django.core.exceptions import ValidationError

    from billing.services.charges import charge_recompute

    w = sari
    b = complete(book(requester=w.scientist, instrument=w.instrument, start=SEPT))
    charge_recompute(booking_id=b.pk)  # before the run: computed again
    run_period(period="2026-09")
    with pytest.raises(ValidationError, match="already invoiced or settled"):
        charge_recompute(booking_id=b.pk)
    assert InternalTransfer.objects.filter(booking=b).count() == 1
