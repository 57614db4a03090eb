"""Invoice files and the period ledger: they say what the API says, to the fen."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from billing.models import Invoice
from billing.services.invoicing import run_period
from facilities.models import RateCard
from facilities.models.tenants import Role

from .factories.billing import AgencyFactory, InnovationVoucherFactory, book, complete
from .factories.facilities import UserFactory, member

D = Decimal
SEPT = dt.datetime(2026, 9, 14, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def invoiced(world):
    RateCard.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=D("333.33"))
    InnovationVoucherFactory(agency=AgencyFactory(code="HFSTB"), holder=world.ustc, percent=D("15"), cap=D("100000"))
    for i in range(7):
        complete(
            book(
                requester=world.researcher,
                instrument=world.instrument,
                start=SEPT + dt.timedelta(days=i),
                hours=1 + i % 3,
            )
        )
    run_period(period="2026-09")
    world.invoice = Invoice.objects.get(payer=world.ustc)
    return world


def test_csv_has_an_amount_column_one_row_per_line_and_agrees_with_the_api(invoiced):
    w = invoiced
    c = w.client(w.finance)
    api = c.get(f"/api/v1/invoices/{w.invoice.pk}/").json()
    r = c.get(f"/api/v1/invoices/{w.invoice.pk}/export/?format=csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv") and r.streaming
    rows = list(csv.DictReader(io.StringIO(body(r).decode())))
    assert len(rows) == len(api["lines"]) == 7
    assert [row["amount"] for row in rows] == [line["amount"] for line in api["lines"]]
    assert sum(D(row["amount"]) for row in rows) == D(api["total"])
    assert {row["issuer"] for row in rows} == {"SARI"} and {row["payer"] for row in rows} == {"USTC"}


def test_xlsx_is_bilingual_and_totals_agree(invoiced):
    w = invoiced
    r = w.client(w.finance).get(f"/api/v1/invoices/{w.invoice.pk}/export/?format=xlsx")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(body(r))).active
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    header_at = next(i for i, row in enumerate(values) if row and row[-1] == "Amount (CNY) / 金额（元）")
    assert any(row and row[0] == "Issuer 开票方" for row in values[:header_at])
    assert any(row and row[0] == "Tax rate 税率" and not row[1] for row in values[:header_at])
    lines = [row for row in values[header_at + 1 :] if row and row[0] and str(row[0]).startswith("DRAFT")]
    assert len(lines) == 7
    assert sum(D(str(row[-1])).quantize(D("0.01")) for row in lines) == w.invoice.total
    total_row = next(row for row in values if row and row[0] == "Total 合计 (CNY)")
    assert D(str(total_row[1])).quantize(D("0.01")) == w.invoice.total


def test_pdf_is_a_pdf(invoiced):
    w = invoiced
    r = w.client(w.finance).get(f"/api/v1/invoices/{w.invoice.pk}/export/?format=pdf")
    data = body(r)
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    from billing.exports.pdf_export import CID_FALLBACK, LATIN_FALLBACK, fonts

    any_truetype = fonts().latin != LATIN_FALLBACK or fonts().cjk != CID_FALLBACK
    assert data.startswith(b"%PDF") and (b"/FontFile2" in data) == any_truetype  # see tests/test_invoice_pdf.py


def test_pdf_of_many_lines_runs_over_several_pages():
    from billing.exports.pdf_export import write_pdf

    rows = ([i, "2026-09-14", "BL1", "USTC-G1", "50.00%", "12.34"] for i in range(300))
    handle = write_pdf(
        title="Invoice 发票 T-1",
        parties=[("Issuer 开票方", "SARI")],
        tax_fields=["Tax rate 税率"],
        rows=rows,
        totals=[("Total 合计", "3702.00")],
    )
    data = handle.read()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page\n") >= 5


def test_unknown_format_is_a_400(invoiced):
    r = invoiced.client(invoiced.finance).get(f"/api/v1/invoices/{invoiced.invoice.pk}/export/?format=docx")
    assert r.status_code == 400 and "csv" in r.json()["format"][0]


def test_ledger_lists_what_the_institution_issued_and_owes(invoiced):
    w = invoiced
    sari_fin = UserFactory(username="sari-fin")
    member(sari_fin, w.sari, Role.FINANCE)
    r = w.client(sari_fin).get("/api/v1/ledger/?period=2026-09&format=csv")
    rows = list(csv.DictReader(io.StringIO(body(r).decode())))
    assert {row["direction"] for row in rows} == {"receivable"}
    assert {row["payer"] for row in rows} == {"USTC", "HFSTB"}
    assert sum(D(row["amount"]) for row in rows) == sum(i.total for i in Invoice.objects.all())
    ustc_rows = list(
        csv.DictReader(io.StringIO(body(w.client(w.finance).get("/api/v1/ledger/?period=2026-09")).decode()))
    )
    assert {row["direction"] for row in ustc_rows} == {"payable"}
    assert sum(D(row["amount"]) for row in ustc_rows) == w.invoice.total
    xlsx = w.client(sari_fin).get("/api/v1/ledger/?period=2026-09&format=xlsx")
    sheet = load_workbook(io.BytesIO(body(xlsx))).active
    receivable = next(row for row in sheet.iter_rows(values_only=True) if row and row[0] == "Receivable 应收 (CNY)")
    assert D(str(receivable[1])).quantize(D("0.01")) == sum(i.total for i in Invoice.objects.all())


def test_ledger_is_for_finance_only(invoiced):
    w = invoiced
    assert w.client(w.researcher).get("/api/v1/ledger/?period=2026-09").status_code == 403
    assert w.client(w.finance).get("/api/v1/ledger/?period=2026-09&institution=ZJU").status_code == 404
    assert w.client(w.finance).get("/api/v1/ledger/?period=09-2026").status_code == 400
    assert w.client(w.admin).get("/api/v1/ledger/?period=2026-09").status_code == 400
    assert w.client(w.admin).get("/api/v1/ledger/?period=2026-09&institution=SARI").status_code == 200
