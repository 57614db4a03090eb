"""One month of money as Delta institutions move it, through the API as the people would: a company books
SARI's facility with a 通用 voucher and again with a 通兑 one (its authority invoiced for the rest), two
universities book too; SARI's finance runs the month, issues every invoice and has its fapiao issued (the
provider) or records it (by hand); each payer's finance reads where to pay and what to quote; SARI's bank
statement (ICBC layout, GBK) brings one exact payment, one partial, one overpayment and one transfer nobody
quoted, which a person assigns; the company claims its 通用 subsidy and the authority reimburses it. At the
end every invoice is paid, partly paid with its balance shown, or explained, and the amounts add up to the
fen (docs/receivables.md, docs/vouchers.md)."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from stdnum.cn import uscc

from billing.models import BankPayment, BuyerTaxInfo, Charge, ChargeLine, Fapiao, Invoice, VoucherRedemption
from facilities.models import RateCard
from facilities.models.tenants import Role

from .factories.billing import AgencyFactory, VoucherSchemeFactory, book, complete, scheme_voucher
from .factories.facilities import FundingAccountFactory, InstitutionFactory, UserFactory, member
from .factories.receivables import bank_account
from .fapiao_fake import FakeFapiaoProvider

D = Decimal
TZ = dt.timezone(dt.timedelta(hours=8))
SEPT = dt.datetime(2026, 9, 14, 9, 0, tzinfo=TZ)
SARI_ACCOUNT = "1001234509000012345"

pytestmark = pytest.mark.usefixtures("tasks_in_process")


def _tax_id(body: str) -> str:
    """A unified social credit code: 17 characters and their GB 32100-2015 check character."""
    return body + uscc.calc_check_digit(body)


@pytest.fixture
def provider(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.FAPIAO_PROVIDER = "tests.fapiao_fake.FakeFapiaoProvider"
    FakeFapiaoProvider.reset()
    yield FakeFapiaoProvider
    FakeFapiaoProvider.reset()


def _statement(rows: list[list[str]]) -> bytes:
    """SARI's ICBC export: a preamble, the header, the rows, a total row; GBK, as the bank writes it."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["账号", SARI_ACCOUNT])
    w.writerow(["起止日期", "2026-12-01", "2026-12-04"])
    w.writerow(["交易日期", "交易流水号", "对方户名", "对方账号", "借方发生额", "贷方发生额", "余额", "摘要", "用途"])
    w.writerows(rows)
    w.writerow(["合计", "", "", "", "", "", "", "", ""])
    return out.getvalue().encode("gbk")


def test_one_month_from_bookings_with_vouchers_to_every_invoice_paid_or_explained(
    world, provider, django_capture_on_commit_callbacks
):
    w = world
    # --- who is who -------------------------------------------------------------------------------
    company = InstitutionFactory(code="ACME", name="Acme Photonics", kind="company", province="jiangsu")
    company.name_zh = "常州艾克米光电有限公司"
    company.save(update_fields=["name_zh"])
    engineer = UserFactory(username="eng")
    member(engineer, company, Role.RESEARCHER)
    engineer.default_account = FundingAccountFactory(
        code="ACME-RD", institution=company, principal_investigator=engineer
    )
    engineer.save()
    company_fin = UserFactory(username="acme.fin")
    member(company_fin, company, Role.FINANCE)
    hefei = AgencyFactory(code="HFSTB", name="Hefei Science and Technology Bureau", province="anhui")
    hefei.name_zh = "合肥市科学技术局"
    hefei.save(update_fields=["name_zh"])
    hefei_fin = UserFactory(username="hfstb.fin")
    member(hefei_fin, hefei, Role.FINANCE)
    changzhou = AgencyFactory(code="CZSTB", name="Changzhou Science and Technology Bureau", province="jiangsu")
    cz_fin = UserFactory(username="czstb.fin")
    member(cz_fin, changzhou, Role.FINANCE)
    sari_fin = UserFactory(username="sari.fin")
    member(sari_fin, w.sari, Role.FINANCE)
    zju_fin = UserFactory(username="zju.fin")
    member(zju_fin, w.zju, Role.FINANCE)
    sari_bank = bank_account(w.sari, SARI_ACCOUNT)
    BuyerTaxInfo.objects.create(institution=company, tax_id=_tax_id("91320400MA1X00001"))
    BuyerTaxInfo.objects.create(institution=hefei, tax_id=_tax_id("11340100003000001"))
    BuyerTaxInfo.objects.create(institution=w.ustc, tax_id=_tax_id("12100000400012345"))
    RateCard.objects.create(instrument=w.instrument, user_class="industry", hourly_rate=D("1234.57"))
    RateCard.objects.update_or_create(
        instrument=w.instrument, user_class="external_academic", defaults={"hourly_rate": D("456.78")}
    )

    # --- the vouchers and the month's bookings ---------------------------------------------------------
    tongyong = VoucherSchemeFactory(agency=changzhou, mode="tongyong", percent=D("40"))
    tongdui = VoucherSchemeFactory(agency=hefei, mode="tongdui", percent=D("35"), provinces=["anhui", "shanghai"])
    # The 通用 voucher expires first, so it pays for the first booking; after it expires the 通兑 one is used.
    scheme_voucher(tongyong, company, cap=D("20000.00"), valid_until=dt.date(2026, 9, 20))
    scheme_voucher(tongdui, company, cap=D("30000.00"))
    first = complete(book(requester=engineer, instrument=w.instrument, start=SEPT, hours=3))
    second = complete(book(requester=engineer, instrument=w.instrument, start=SEPT + dt.timedelta(days=7)))
    complete(book(requester=w.researcher, instrument=w.instrument, start=SEPT + dt.timedelta(days=1)))
    complete(book(requester=w.outsider, instrument=w.instrument, start=SEPT + dt.timedelta(days=2)))
    c1, c2 = Charge.objects.get(booking=first), Charge.objects.get(booking=second)
    assert (c1.amount, c1.voucher.scheme, c1.voucher_amount) == (D("3703.71"), tongyong, D("1481.48"))  # 40 %, down
    assert (c2.amount, c2.voucher.scheme, c2.voucher_amount) == (D("2469.14"), tongdui, D("864.19"))  # 35 %, down

    # --- SARI's finance runs the month and issues every invoice --------------------------------------
    sari = w.client(sari_fin)
    with django_capture_on_commit_callbacks(execute=True):  # the run starts after its commit
        r = sari.post("/api/v1/invoices/runs/", {"period": "2026-09"}, format="json")
    assert r.status_code == 202, r.content
    run = sari.get(f"/api/v1/invoices/runs/{r.json()['id']}/").json()
    assert run["status"] == "done" and run["processed"] == run["total"] == 5  # charge lines
    invoices = {i.payer.code: i for i in Invoice.objects.select_related("payer")}
    assert set(invoices) == {"ACME", "HFSTB", "USTC", "ZJU"} and {i.issuer for i in invoices.values()} == {w.sari}
    assert invoices["ACME"].total == D("3703.71") + D("2469.14") - D("864.19"), "通用 in full, 通兑 its part"
    assert invoices["HFSTB"].total == D("864.19"), "the authority is invoiced the 通兑 voucher's part"
    charges = Charge.objects.filter(period="2026-09")
    assert sum(i.total for i in invoices.values()) == sum(c.amount for c in charges), "every fen invoiced once"
    for code, inv in invoices.items():
        r = sari.post(f"/api/v1/invoices/{inv.pk}/issue/")
        assert r.status_code == 200, (code, r.content)

    # --- fapiao: through the provider for three payers, by hand for ZJU (no tax info on file) ------
    for code in ("ACME", "HFSTB", "USTC"):
        r = sari.post(f"/api/v1/invoices/{invoices[code].pk}/fapiao/issue/", {}, format="json")
        assert r.status_code == 201, (code, r.content)
    zju_invoice = Invoice.objects.get(pk=invoices["ZJU"].pk)
    tax = (zju_invoice.total * D("0.06") / D("1.06")).quantize(D("0.01"))
    r = sari.post(
        f"/api/v1/invoices/{zju_invoice.pk}/fapiao/",
        {
            "number": "26312000000000000777",
            "kind": "normal",
            "issued_on": "2026-11-21",
            "buyer_name": "浙江大学",
            "buyer_tax_id": _tax_id("12100000470003274").lower(),
            "tax_rate": "0.06",
            "tax_amount": str(tax),
            "file": SimpleUploadedFile("fapiao.pdf", b"%PDF-1.7 by hand"),
        },
        format="multipart",
    )
    assert r.status_code == 201, r.content
    numbers = dict(Fapiao.objects.values_list("invoice__payer__code", "number"))
    assert set(numbers) == set(invoices) and all(len(n) == 20 and n.isdigit() for n in numbers.values())
    assert len(set(numbers.values())) == 4 and all(n.startswith("26") for n in numbers.values())

    # --- each payer's finance reads where to pay, and what to quote ------------------------------------
    payers = {"ACME": company_fin, "HFSTB": hefei_fin, "USTC": w.finance, "ZJU": zju_fin}
    due = {}
    for code, person in payers.items():
        r = w.client(person).get(f"/api/v1/invoices/{invoices[code].pk}/balance/")
        assert r.status_code == 200, (code, r.content)
        body = r.json()
        assert (body["state"], body["bank_account"]["number"]) == ("unpaid", SARI_ACCOUNT), (code, body)
        due[code] = (D(body["balance"]), body["payment_reference"])
    assert w.client(hefei_fin).get(f"/api/v1/invoices/{invoices['ACME'].pk}/balance/").status_code == 404

    # --- the bank statement: exact, partial, overpaid, and one transfer quoting nothing -------------------
    acme_due, acme_ref = due["ACME"]
    hefei_due, hefei_ref = due["HFSTB"]
    ustc_due, ustc_ref = due["USTC"]
    zju_due, _ = due["ZJU"]
    rows = [
        [
            "2026-12-01",
            "ICBC-0001",
            "常州艾克米光电有限公司",
            "6222000000000001",
            "",
            f"{acme_due:.2f}",
            "1",
            "货款",
            acme_ref,
        ],
        [
            "2026-12-01",
            "ICBC-0002",
            "合肥市科学技术局",
            "6222000000000002",
            "",
            "500.00",
            "2",
            "创新券 首期",
            hefei_ref,
        ],
        ["2026-12-02", "ICBC-0003", "", "6222000000000003", "88.00", "", "3", "手续费", ""],  # money out: skipped
        [
            "2026-12-02",
            "ICBC-0004",
            "中国科学技术大学",
            "6222000000000004",
            "",
            f"{ustc_due + 100:.2f}",
            "4",
            "",
            ustc_ref,
        ],
        ["2026-12-03", "ICBC-0005", "浙江大学计划财务处", "6222000000000005", "", f"{zju_due:.2f}", "5", "测试费", ""],
    ]
    statement = _statement(rows)
    r = w.client(hefei_fin).post(
        "/api/v1/bank-statements/",
        {"file": SimpleUploadedFile("s.csv", statement), "account": sari_bank.pk},
        format="multipart",
    )
    assert r.status_code == 404, "only the issuer's finance imports into its account"
    r = sari.post(
        "/api/v1/bank-statements/", {"file": SimpleUploadedFile("icbc-2026-12.csv", statement)}, format="multipart"
    )
    assert r.status_code == 201, r.content
    imported = r.json()
    assert (imported["bank_format"], imported["rows_read"], imported["payments_matched"]) == ("icbc", 4, 3)

    unmatched = sari.get("/api/v1/payments/?status=unmatched").json()
    assert unmatched["count"] == 1
    stray = unmatched["results"][0]
    assert stray["payer_name"] == "浙江大学计划财务处" and stray["note"]
    r = sari.post(f"/api/v1/payments/{stray['id']}/assign/", {"invoice": invoices["ZJU"].pk}, format="json")
    assert r.status_code in (200, 201), r.content
    assert w.client(zju_fin).post(
        f"/api/v1/payments/{stray['id']}/assign/", {"invoice": invoices["ZJU"].pk}, format="json"
    ).status_code in (403, 404), "the payer does not assign the issuer's payments"

    # --- the 通用 claim: the company submits, its authority approves and reimburses ----------------------
    claim = VoucherRedemption.objects.get(mode="tongyong")
    assert w.client(company_fin).post(f"/api/v1/vouchers/redemptions/{claim.pk}/submit/").status_code == 200
    assert w.client(hefei_fin).post(f"/api/v1/vouchers/redemptions/{claim.pk}/approve/").status_code == 404
    assert w.client(cz_fin).post(f"/api/v1/vouchers/redemptions/{claim.pk}/approve/").status_code == 200
    assert w.client(cz_fin).post(f"/api/v1/vouchers/redemptions/{claim.pk}/reimburse/").status_code == 200

    # --- the end of the month: every invoice paid, partly paid with its balance, or explained ----------
    end = {}
    for code, person in payers.items():
        body = w.client(person).get(f"/api/v1/invoices/{invoices[code].pk}/balance/").json()
        assert D(body["total"]) - D(body["received"]) == D(body["balance"]), code
        end[code] = (body["state"], body["balance"])
    assert end == {
        "ACME": ("paid", "0.00"),
        "HFSTB": ("partly_paid", f"{hefei_due - D('500.00'):.2f}"),
        "USTC": ("overpaid", "-100.00"),
        "ZJU": ("paid", "0.00"),
    }
    assert dict(Invoice.objects.values_list("payer__code", "status")) == {
        "ACME": "paid",
        "HFSTB": "issued",
        "USTC": "paid",
        "ZJU": "paid",
    }
    claims = {
        r["mode"]: (r["status"], r["amount"])
        for r in w.client(company_fin).get("/api/v1/vouchers/redemptions/?year=2026").json()["results"]
    }
    assert claims == {"tongyong": ("reimbursed", "1481.48"), "tongdui": ("invoiced", "864.19")}

    # --- and the amounts add up to the fen --------------------------------------------------------------
    money_in = sum(D(row[5]) for row in rows if row[5])
    assert all(p.status == "applied" and p.applied == p.amount for p in BankPayment.objects.all())
    received = sum(
        D(w.client(sari_fin).get(f"/api/v1/invoices/{i.pk}/balance/").json()["received"]) for i in invoices.values()
    )
    assert received == money_in
    report = sari.get("/api/v1/receivables/").json()
    assert D(report["total"]["invoiced"]) == sum(i.total for i in invoices.values())
    assert D(report["total"]["received"]) == money_in
    assert D(report["total"]["outstanding"]) == sum(i.total for i in invoices.values()) - money_in
    for charge in (c1, c2):
        lines = sum(ChargeLine.objects.filter(charge=charge).values_list("amount", flat=True))
        assert lines == charge.amount, "a charge's lines add up to what payers owe"
    claimed = VoucherRedemption.objects.get(mode="tongyong", status="reimbursed").amount
    assert invoices["ACME"].total - claimed + invoices["HFSTB"].total == c1.amount + c2.amount - claimed, (
        "the company's cost is what it owed less both vouchers' parts"
    )
    assert invoices["ACME"].total - claimed == c1.amount + c2.amount - c1.voucher_amount - c2.voucher_amount
