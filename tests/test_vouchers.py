"""Innovation vouchers by their issuer's rules (rate, cap per company and year, eligible facilities and
provinces, expiry) in both Delta modes, end to end through the month's invoice run and the 通用 claim."""

import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from billing.models import Charge, ChargeLine, Invoice, VoucherRedemption, VoucherYearUse
from billing.services.invoicing import invoice_issue, run_period
from facilities.models import FundingAccount, Institution, RateCard, User
from facilities.models.tenants import Role

from .conftest import World
from .factories.billing import AgencyFactory, VoucherSchemeFactory, book, complete, scheme_voucher
from .factories.facilities import (
    FacilityFactory,
    FundingAccountFactory,
    InstitutionFactory,
    InstrumentFactory,
    UserFactory,
    member,
)

D = Decimal
TZ = dt.timezone(dt.timedelta(hours=8))
SEPT = dt.datetime(2026, 9, 14, 9, 0, tzinfo=TZ)

pytestmark = pytest.mark.usefixtures("tasks_in_process")


@dataclass
class Delta:
    w: World
    company: Institution
    engineer: User  # the company's researcher
    company_finance: User
    company_account: FundingAccount
    hefei: Institution  # the issuing authority, in Anhui
    agency_finance: User
    sari_finance: User


@pytest.fixture
def delta(world) -> Delta:
    """A Changzhou company whose engineer books SARI's facility in Shanghai at 1,000.00 CNY an hour
    (industry rate), and the Hefei bureau that issues vouchers."""
    company = InstitutionFactory(code="ACME", kind="company", province="jiangsu", city="Changzhou")
    engineer = UserFactory(username="eng")
    member(engineer, company, Role.RESEARCHER)
    company_account = FundingAccountFactory(code="ACME-RD", institution=company, principal_investigator=engineer)
    engineer.default_account = company_account
    engineer.save()
    company_finance = UserFactory(username="acme.fin")
    member(company_finance, company, Role.FINANCE)
    hefei = AgencyFactory(code="HFSTB", name="Hefei Science and Technology Bureau", province="anhui")
    agency_finance = UserFactory(username="hfstb.fin")
    member(agency_finance, hefei, Role.FINANCE)
    sari_finance = UserFactory(username="sari.fin")
    member(sari_finance, world.sari, Role.FINANCE)
    RateCard.objects.create(instrument=world.instrument, user_class="industry", hourly_rate=D("1000.00"))
    return Delta(world, company, engineer, company_finance, company_account, hefei, agency_finance, sari_finance)


def used(d: Delta, start=SEPT, hours=2, instrument=None) -> Charge:
    b = complete(book(requester=d.engineer, instrument=instrument or d.w.instrument, start=start, hours=hours))
    return Charge.objects.get(booking=b)


def test_tongdui_the_company_pays_its_part_and_the_authority_is_invoiced_the_rest(delta):
    d = delta
    scheme = VoucherSchemeFactory(agency=d.hefei, mode="tongdui", percent=D("40"), provinces=["anhui", "shanghai"])
    voucher = scheme_voucher(scheme, d.company, cap=D("5000.00"))
    charge = used(d)  # 2 h × 1000.00 = 2000.00; 40 % = 800.00
    assert charge.voucher_amount == D("800.00")
    run_period(period="2026-09")
    invoices = {i.payer.code: i for i in Invoice.objects.select_related("payer")}
    assert set(invoices) == {"ACME", "HFSTB"}
    assert invoices["ACME"].total == D("1200.00") and invoices["HFSTB"].total == D("800.00")
    assert invoices["ACME"].issuer == invoices["HFSTB"].issuer == d.w.sari
    redemption = VoucherRedemption.objects.get()
    assert (redemption.mode, redemption.status, redemption.amount) == ("tongdui", "invoiced", D("800.00"))
    assert (redemption.province, redemption.year, redemption.agency_id) == ("shanghai", 2026, d.hefei.pk)
    voucher.refresh_from_db()
    assert voucher.balance == D("4200.00")
    assert VoucherYearUse.objects.get(scheme=scheme, holder=d.company, year=2026).used == D("800.00")
    # a 通兑 redemption is invoiced, not claimed
    r = d.w.client(d.company_finance).post(f"/api/v1/vouchers/redemptions/{redemption.pk}/submit/")
    assert r.status_code == 404


def test_tongyong_the_company_pays_in_full_and_claims_with_an_evidence_pack(delta):
    d = delta
    scheme = VoucherSchemeFactory(agency=d.hefei, mode="tongyong", percent=D("30"), provinces=["shanghai"])
    voucher = scheme_voucher(scheme, d.company, cap=D("5000.00"))
    charge = used(d)
    assert charge.voucher_amount == D("600.00")
    assert [(line.payer.code, line.amount) for line in charge.lines.all()] == [("ACME", D("2000.00"))]
    run_period(period="2026-09")
    invoice = Invoice.objects.get()
    assert (invoice.payer, invoice.total) == (d.company, D("2000.00")), "no invoice to the authority in 通用"
    claim = VoucherRedemption.objects.get()
    assert (claim.status, claim.amount) == ("pending", D("600.00"))
    company, agency = d.w.client(d.company_finance), d.w.client(d.agency_finance)

    r = company.post(f"/api/v1/vouchers/redemptions/{claim.pk}/submit/")
    assert r.status_code == 400 and "issued invoice" in r.json()["detail"]
    invoice_issue(actor=None, invoice_id=invoice.pk)
    invoice.refresh_from_db()

    r = agency.post(f"/api/v1/vouchers/redemptions/{claim.pk}/submit/")
    assert r.status_code == 403, "the authority does not submit the company's claim"
    r = company.post(f"/api/v1/vouchers/redemptions/{claim.pk}/submit/")
    assert r.status_code == 200 and r.json()["status"] == "submitted", r.content
    assert company.post(f"/api/v1/vouchers/redemptions/{claim.pk}/approve/").status_code == 403
    assert agency.post(f"/api/v1/vouchers/redemptions/{claim.pk}/reimburse/").json()["code"] == "invalid_transition"
    assert agency.post(f"/api/v1/vouchers/redemptions/{claim.pk}/approve/").json()["status"] == "approved"
    body = agency.post(f"/api/v1/vouchers/redemptions/{claim.pk}/reimburse/").json()
    assert body["status"] == "reimbursed" and body["reimbursed_at"].endswith("+08:00")
    assert body["amount"] == "600.00" and body["booking"] == charge.booking_id

    r = company.get(f"/api/v1/vouchers/redemptions/{claim.pk}/evidence/")
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    pack = zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))
    names = pack.namelist()
    assert names == ["claim.csv", "1-contract.pdf", "2-service-record.pdf", f"3-invoice-{invoice.number}.pdf"]
    assert all(pack.read(n).startswith(b"%PDF") for n in names if n.endswith(".pdf"))
    claim_csv = pack.read("claim.csv").decode()
    assert "600.00" in claim_csv and invoice.number in claim_csv and "HFSTB" in claim_csv
    voucher.refresh_from_db()
    assert voucher.balance == D("4400.00")


def test_a_refused_claim_gives_its_amount_back_to_the_voucher_and_the_year(delta):
    d = delta
    scheme = VoucherSchemeFactory(agency=d.hefei, mode="tongyong", percent=D("50"), cap_per_company_year=D("1000"))
    voucher = scheme_voucher(scheme, d.company, cap=D("5000.00"))
    used(d)
    run_period(period="2026-09")
    invoice_issue(actor=None, invoice_id=Invoice.objects.get().pk)
    claim = VoucherRedemption.objects.get()
    d.w.client(d.company_finance).post(f"/api/v1/vouchers/redemptions/{claim.pk}/submit/")
    agency = d.w.client(d.agency_finance)
    r = agency.post(f"/api/v1/vouchers/redemptions/{claim.pk}/refuse/", {"reason": ""}, format="json")
    assert r.status_code == 400 and "reason" in r.json()
    r = agency.post(f"/api/v1/vouchers/redemptions/{claim.pk}/refuse/", {"reason": "No contract stamp"}, format="json")
    assert r.json()["status"] == "refused" and r.json()["reason"] == "No contract stamp"
    voucher.refresh_from_db()
    assert voucher.balance == D("5000.00")
    assert VoucherYearUse.objects.get(holder=d.company, year=2026).used == D("0.00")
    report = d.w.client(d.agency_finance).get("/api/v1/vouchers/report/?year=2026&format=json").json()
    assert report["results"] == [], "refused claims are not counted as redemptions"


def test_the_cap_per_company_and_year_holds_across_vouchers_and_resets_next_year(delta):
    d = delta
    scheme = VoucherSchemeFactory(agency=d.hefei, percent=D("50"), cap_per_company_year=D("1500.00"))
    first = scheme_voucher(scheme, d.company, cap=D("1200.00"), valid_until=dt.date(2026, 12, 31))
    second = scheme_voucher(scheme, d.company, cap=D("9000.00"), valid_until=dt.date(2027, 12, 31))
    amounts = [used(d, start=SEPT + dt.timedelta(days=i)).voucher_amount for i in range(4)]
    # 1000.00 wanted each time (one voucher per charge): the first voucher runs dry at 1200.00, the
    # second gives only the 300.00 left of the company's 1500.00 for the year, then nothing.
    assert amounts == [D("1000.00"), D("200.00"), D("300.00"), D("0.00")]
    assert [r.voucher_id for r in VoucherRedemption.objects.order_by("id")] == [first.pk, first.pk, second.pk]
    assert VoucherYearUse.objects.get(holder=d.company, year=2026).used == D("1500.00")
    next_year = used(d, start=dt.datetime(2027, 1, 11, 9, 0, tzinfo=TZ))
    assert next_year.voucher_amount == D("1000.00") and next_year.voucher_id == second.pk


def test_the_rate_is_the_vouchers_and_never_above_the_schemes(delta):
    d = delta
    scheme = VoucherSchemeFactory(agency=d.hefei, percent=D("50"))
    voucher = scheme_voucher(scheme, d.company, percent=D("20"))
    assert used(d).voucher_amount == D("400.00")
    voucher.percent = D("80")  # a rate above the scheme's is refused by validation and capped when charging
    with pytest.raises(Exception, match="scheme's rate"):
        voucher.full_clean()
    voucher.save()
    assert used(d, start=SEPT + dt.timedelta(days=1)).voucher_amount == D("1000.00")


def test_a_hefei_voucher_is_spent_where_its_rules_allow_and_nowhere_else(delta):
    d = delta
    zj_facility = FacilityFactory(code="ZJFAC", host=d.w.zju, province="zhejiang", city="Hangzhou")
    zj_instrument = InstrumentFactory(facility=zj_facility, code="ZJ1")
    RateCard.objects.create(instrument=zj_instrument, user_class="industry", hourly_rate=D("1000.00"))
    scheme = VoucherSchemeFactory(agency=d.hefei, percent=D("50"), provinces=["anhui", "shanghai"])
    scheme_voucher(scheme, d.company, cap=D("100000.00"))
    assert used(d).voucher_amount == D("1000.00"), "a Hefei voucher is used at a facility in Shanghai"
    assert used(d, instrument=zj_instrument).voucher_amount == D("0"), "…but not in Zhejiang"
    scheme.provinces = []
    scheme.save()
    other = FacilityFactory(code="OTHER", host=d.w.sari)
    scheme.facilities.add(other)  # now only that facility, wherever it is
    assert used(d, start=SEPT + dt.timedelta(days=1)).voucher_amount == D("0")
    scheme.facilities.add(d.w.facility)
    assert used(d, start=SEPT + dt.timedelta(days=2)).voucher_amount == D("1000.00")


def test_expired_schemes_and_vouchers_are_not_drawn_on(delta):
    d = delta
    scheme = VoucherSchemeFactory(agency=d.hefei, valid_until=dt.date(2026, 9, 14))
    scheme_voucher(scheme, d.company, cap=D("100000.00"), valid_until=dt.date(2026, 9, 15))
    assert used(d).voucher_amount == D("1000.00"), "the scheme's last day counts"
    assert used(d, start=SEPT + dt.timedelta(days=1)).voucher_amount == D("0"), "scheme expired"
    scheme.valid_until = dt.date(2099, 1, 1)
    scheme.save()
    assert used(d, start=SEPT + dt.timedelta(days=1, hours=3)).voucher_amount == D("1000.00")
    assert used(d, start=SEPT + dt.timedelta(days=2)).voucher_amount == D("0"), "voucher expired"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rate=st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2),
    hours=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=3),
    percent=st.decimals(min_value=D("0.01"), max_value=D("100"), places=2),
    cap=st.decimals(min_value=D("0.00"), max_value=D("50000.00"), places=2),
    balance=st.decimals(min_value=D("0.01"), max_value=D("50000.00"), places=2),
    mode=st.sampled_from(["tongdui", "tongyong"]),
)
def test_draws_add_up_to_the_fen_and_never_pass_rate_balance_or_cap(delta, rate, hours, percent, cap, balance, mode):
    d = delta
    with transaction.atomic():
        RateCard.objects.filter(instrument=d.w.instrument, user_class="industry").update(hourly_rate=rate)
        scheme = VoucherSchemeFactory(agency=d.hefei, mode=mode, percent=percent, cap_per_company_year=cap)
        voucher = scheme_voucher(scheme, d.company, cap=balance)
        charges = [used(d, start=SEPT + dt.timedelta(days=i), hours=h) for i, h in enumerate(hours)]
        drawn = sum((c.voucher_amount for c in charges), D(0))
        assert drawn <= min(cap, balance)
        for c in charges:
            lines = list(ChargeLine.objects.filter(charge=c))
            assert sum((line.amount for line in lines), D(0)) == c.amount, "lines add up to the fen"
            assert c.voucher_amount <= (c.amount * percent / 100).quantize(D("0.01"))
            on_agency = sum((line.amount for line in lines if line.voucher_id), D(0))
            assert on_agency == (c.voucher_amount if mode == "tongdui" else D(0))
        voucher.refresh_from_db()
        assert voucher.balance == balance - drawn
        assert sum(VoucherRedemption.objects.filter(voucher=voucher).values_list("amount", flat=True), D(0)) == drawn
        transaction.set_rollback(True)


def test_the_report_per_issuer_and_province_in_json_xlsx_and_the_finance_console(delta, client):
    d = delta
    tongdui = VoucherSchemeFactory(agency=d.hefei, mode="tongdui", percent=D("10"))
    scheme_voucher(tongdui, d.company, valid_until=dt.date(2026, 9, 14))
    used(d)  # 200.00 redeemed at a Shanghai facility
    tongyong = VoucherSchemeFactory(agency=d.hefei, mode="tongyong", percent=D("20"))
    scheme_voucher(tongyong, d.company)
    used(d, start=SEPT + dt.timedelta(days=1))  # 400.00 claimed
    body = d.w.client(d.agency_finance).get("/api/v1/vouchers/report/?year=2026").json()
    assert body["results"] == [
        {"agency": "HFSTB", "province": "shanghai", "mode": "tongdui", "count": 1, "amount": "200.00"},
        {"agency": "HFSTB", "province": "shanghai", "mode": "tongyong", "count": 1, "amount": "400.00"},
    ]
    r = d.w.client(d.sari_finance).get("/api/v1/vouchers/report/?year=2026&format=xlsx")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(r.streaming_content)), read_only=True).active
    values = [row for row in sheet.iter_rows(values_only=True) if row and row[0]]
    assert ("HFSTB", "shanghai", "tongyong", 1, 400) in values
    assert ("Total 合计 (CNY)", 600) in [tuple(v[:2]) for v in values]
    assert d.w.client(d.w.finance).get("/api/v1/vouchers/report/?year=2026").json()["results"] == []
    assert d.w.client(d.w.finance).get("/api/v1/vouchers/report/?year=twenty").status_code == 400
    assert d.w.client(d.w.finance).get("/api/v1/vouchers/report/").status_code == 400
    client.force_login(d.agency_finance)
    page = client.get("/finance/?period=2026-09")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Innovation voucher redemptions in 2026" in html and "600.00" in html
    assert "/api/v1/vouchers/report/?year=2026&amp;format=xlsx" in html
    assert "/api/v1/journal/?period=2026-09&amp;format=csv" in html, "the console links the internal journal"
    client.force_login(d.engineer)
    assert client.get("/finance/?period=2026-09").status_code in (302, 403), "researchers have no finance console"


def test_who_may_see_and_decide_redemptions(delta):
    d = delta
    scheme = VoucherSchemeFactory(agency=d.hefei, mode="tongyong", percent=D("30"))
    scheme_voucher(scheme, d.company)
    used(d)
    claim = VoucherRedemption.objects.get()
    url = f"/api/v1/vouchers/redemptions/{claim.pk}/"
    for user in (d.company_finance, d.agency_finance, d.sari_finance, d.w.admin):
        assert d.w.client(user).get(url).status_code == 200, user
        assert d.w.client(user).get("/api/v1/vouchers/redemptions/?year=2026").json()["count"] == 1
    for user in (d.engineer, d.w.finance, d.w.manager, d.w.outsider):  # USTC finance keeps no book involved
        assert d.w.client(user).get(url).status_code == 404, user
        assert d.w.client(user).get("/api/v1/vouchers/redemptions/").json()["count"] == 0
        for action in ("submit", "approve", "reimburse", "refuse"):
            assert d.w.client(user).post(f"{url}{action}/", {"reason": "x"}, format="json").status_code == 404
        assert d.w.client(user).get(f"{url}evidence/").status_code == 404
    assert d.w.client(None).get(url).status_code in (401, 403)
    assert d.w.client(None).get("/api/v1/vouchers/report/?year=2026").status_code in (401, 403)
    assert d.w.client(d.engineer).get("/api/v1/vouchers/report/?year=2026").json()["results"] == []
    assert d.w.client(d.sari_finance).post(f"{url}approve/").status_code == 403, "the facility does not decide"
    assert d.w.client(d.agency_finance).get("/api/v1/vouchers/redemptions/?status=nope").status_code == 400
    assert d.w.client(d.agency_finance).get("/api/v1/vouchers/redemptions/?mode=nope").status_code == 400


def test_end_to_end_one_month_with_a_voucher_in_each_mode(delta, django_capture_on_commit_callbacks):
    """The company uses a Hefei 通兑 voucher at SARI's facility in Shanghai and a Changzhou 通用 voucher at a
    facility in Jiangsu in the same month; finance runs the month through the API."""
    d = delta
    nju = InstitutionFactory(code="NJU", province="jiangsu", city="Nanjing")
    js_facility = FacilityFactory(code="JSFAC", host=nju, province="jiangsu", city="Nanjing")
    js_instrument = InstrumentFactory(facility=js_facility, code="JS1")
    RateCard.objects.create(instrument=js_instrument, user_class="industry", hourly_rate=D("333.33"))
    hefei = VoucherSchemeFactory(agency=d.hefei, mode="tongdui", percent=D("50"), provinces=["anhui", "shanghai"])
    changzhou = VoucherSchemeFactory(
        agency=AgencyFactory(code="CZSTB", province="jiangsu"), mode="tongyong", percent=D("40"), provinces=["jiangsu"]
    )
    scheme_voucher(hefei, d.company, cap=D("30000.00"))
    scheme_voucher(changzhou, d.company, cap=D("20000.00"))
    cz_finance = UserFactory(username="czstb.fin")
    member(cz_finance, changzhou.agency, Role.FINANCE)
    nju_finance = UserFactory(username="nju.fin")
    member(nju_finance, nju, Role.FINANCE)

    shanghai = used(d, hours=3)  # 3000.00: Hefei covers 1500.00
    jiangsu = used(d, start=SEPT + dt.timedelta(days=1), hours=3, instrument=js_instrument)  # 999.99: 399.99 claimed
    assert (shanghai.voucher_amount, jiangsu.voucher_amount) == (D("1500.00"), D("399.99"))

    with django_capture_on_commit_callbacks(execute=True):  # the run starts after its commit
        r = d.w.client(d.sari_finance).post("/api/v1/invoices/runs/", {"period": "2026-09"}, format="json")
    assert r.status_code == 202, r.content
    run = d.w.client(d.sari_finance).get(f"/api/v1/invoices/runs/{r.json()['id']}/").json()
    assert run["status"] == "done" and run["processed"] == run["total"] == 3
    totals = {(i.issuer.code, i.payer.code): i.total for i in Invoice.objects.select_related("issuer", "payer")}
    assert totals == {
        ("SARI", "ACME"): D("1500.00"),  # the company's part of the 通兑 booking
        ("SARI", "HFSTB"): D("1500.00"),  # the authority's part
        ("NJU", "ACME"): D("999.99"),  # 通用: the company pays in full
    }
    nju_invoice = Invoice.objects.get(issuer=nju)
    r = d.w.client(nju_finance).post(f"/api/v1/invoices/{nju_invoice.pk}/issue/")
    assert r.status_code == 200, r.content
    claim = VoucherRedemption.objects.get(mode="tongyong")
    assert d.w.client(d.company_finance).post(f"/api/v1/vouchers/redemptions/{claim.pk}/submit/").status_code == 200
    r = d.w.client(cz_finance).get(f"/api/v1/vouchers/redemptions/{claim.pk}/evidence/")
    pack = zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))
    nju_invoice.refresh_from_db()
    assert f"3-invoice-{nju_invoice.number}.pdf" in pack.namelist() and nju_invoice.number.startswith("NJU-")
    assert d.w.client(d.agency_finance).get(f"/api/v1/vouchers/redemptions/{claim.pk}/").status_code == 404, (
        "Hefei's finance does not see Changzhou's claims"
    )
    assert d.w.client(cz_finance).post(f"/api/v1/vouchers/redemptions/{claim.pk}/approve/").status_code == 200
    report = d.w.client(d.w.admin).get("/api/v1/vouchers/report/?year=2026").json()["results"]
    assert [(r["agency"], r["province"], r["mode"], r["amount"]) for r in report] == [
        ("CZSTB", "jiangsu", "tongyong", "399.99"),
        ("HFSTB", "shanghai", "tongdui", "1500.00"),
    ]


def test_redemption_list_queries_do_not_grow_with_redemptions(delta, django_assert_max_num_queries):
    d = delta
    scheme = VoucherSchemeFactory(agency=d.hefei, mode="tongyong", percent=D("10"))
    scheme_voucher(scheme, d.company, cap=D("100000.00"))
    for i in range(6):
        used(d, start=SEPT + dt.timedelta(days=i))
    client = d.w.client(d.agency_finance)
    with django_assert_max_num_queries(6):
        body = client.get("/api/v1/vouchers/redemptions/").json()
    assert body["count"] == 6 and {r["status"] for r in body["results"]} == {"pending"}


def test_the_new_endpoints_are_in_the_openapi_schema(world):
    schema = world.client(None).get("/api/v1/schema/?format=json").json()
    for path in (
        "/api/v1/journal/",
        "/api/v1/vouchers/redemptions/",
        "/api/v1/vouchers/redemptions/{id}/",
        "/api/v1/vouchers/redemptions/{id}/submit/",
        "/api/v1/vouchers/redemptions/{id}/approve/",
        "/api/v1/vouchers/redemptions/{id}/reimburse/",
        "/api/v1/vouchers/redemptions/{id}/refuse/",
        "/api/v1/vouchers/redemptions/{id}/evidence/",
        "/api/v1/vouchers/report/",
    ):
        assert path in schema["paths"], path


def test_claims_move_through_the_finance_console(delta, client):
    d = delta
    scheme = VoucherSchemeFactory(agency=d.hefei, mode="tongyong", percent=D("30"))
    scheme_voucher(scheme, d.company)
    used(d)
    run_period(period="2026-09")
    invoice_issue(actor=None, invoice_id=Invoice.objects.get().pk)
    claim = VoucherRedemption.objects.get()
    client.force_login(d.company_finance)
    html = client.get("/finance/?period=2026-09").content.decode()
    assert f"/finance/claims/{claim.pk}/submit/" in html and f"/finance/claims/{claim.pk}/approve/" not in html
    assert client.post(f"/finance/claims/{claim.pk}/approve/").status_code == 403, "the company does not decide"
    r = client.post(f"/finance/claims/{claim.pk}/submit/")
    assert r.status_code == 302 and r["Location"].startswith("/finance/?period=2026-09")
    client.force_login(d.agency_finance)
    html = client.get("/finance/?period=2026-09").content.decode()
    assert f"/finance/claims/{claim.pk}/approve/" in html and f"/finance/claims/{claim.pk}/submit/" not in html
    client.post(f"/finance/claims/{claim.pk}/refuse/", {"reason": "Stamp missing"})
    claim.refresh_from_db()
    assert (claim.status, claim.reason) == ("refused", "Stamp missing")
    r = client.post(f"/finance/claims/{claim.pk}/approve/", follow=True)
    assert "cannot become approved" in r.content.decode(), "a refused claim stays refused, and the page says why"
    assert client.post(f"/finance/claims/{claim.pk}/fly/").status_code == 404
    client.force_login(d.w.finance)
    assert client.post(f"/finance/claims/{claim.pk}/submit/").status_code == 404, "USTC finance cannot see it"


def test_the_console_voucher_section_queries_do_not_grow(delta, client, django_assert_max_num_queries):
    d = delta
    scheme = VoucherSchemeFactory(agency=d.hefei, mode="tongyong", percent=D("10"))
    scheme_voucher(scheme, d.company, cap=D("100000.00"))
    for i in range(8):
        used(d, start=SEPT + dt.timedelta(days=i))
    client.force_login(d.agency_finance)
    # The whole finance console (see test_frontend_finance.py): constant whatever the number of claims.
    with django_assert_max_num_queries(20):
        html = client.get("/finance/?period=2026-09").content.decode()
    assert html.count("data-claim=") == 8


def test_draws_made_before_redemptions_existed_are_backfilled(delta):
    import importlib

    from django.apps import apps

    d = delta
    scheme_voucher(VoucherSchemeFactory(agency=d.hefei, percent=D("25")), d.company, cap=D("5000.00"))
    charge = used(d)
    VoucherRedemption.objects.all().delete()  # as before this release
    migration = importlib.import_module("billing.migrations.0005_redemptions_of_earlier_voucher_draws")
    migration.backfill(apps, None)
    migration.backfill(apps, None)  # twice: still one each
    redemption = VoucherRedemption.objects.get()
    assert (redemption.charge_id, redemption.amount, redemption.mode, redemption.status) == (
        charge.pk,
        D("500.00"),
        "tongdui",
        "invoiced",
    )
    assert (redemption.province, redemption.year, redemption.agency_id) == ("shanghai", 2026, d.hefei.pk)
