"""Receivables on the finance console and the invoice page: balances and ageing, receivables per payer
(page and XLSX), statement upload and assigning a payment by hand; the payer's finance sees the balance
of what it owes; researchers and outsiders are refused."""

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from billing.models import BankPayment, PaymentMatch
from billing.payment_reference import payment_reference

from .factories.receivables import finance_of, golden_world, issued_invoice

GOLDEN = Path(__file__).parent / "golden"


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def books(world):
    account, invoices = golden_world(world)
    sari_fin = finance_of(world.sari, "sari.fin")
    c = client_for(sari_fin)
    data = (GOLDEN / "icbc_statement_2026-11.csv").read_bytes()
    r = c.post(reverse("frontend:statement_upload"), {"file": SimpleUploadedFile("icbc.csv", data), "bank": "icbc"})
    assert r.status_code == 302
    return world, invoices, sari_fin, c


def test_console_shows_balances_ageing_and_payments_to_assign(books):
    world, invoices, sari_fin, c = books
    page = c.get(reverse("frontend:finance")).content.decode()
    assert 'id="receivables"' in page
    assert page.count("data-open-invoice=") == 2  # 0002 partly paid, 0005 unpaid; none of the paid or overpaid
    assert page.count("data-payment=") == 2
    assert 'data-payer="USTC"' in page and 'data-payer="ZJU"' in page
    assert "4 matched" in page


def test_assigning_on_the_console_applies_the_payment(books):
    world, invoices, sari_fin, c = books
    payment = BankPayment.objects.get(payer_name="上海某某仪器有限公司")
    r = c.post(reverse("frontend:payment_assign", args=[payment.pk]), {"invoice": "SARI-2026-0005", "amount": "88"})
    assert r.status_code == 302
    match = PaymentMatch.objects.get(payment=payment)
    assert (match.amount, match.matched_by, match.invoice.number) == (Decimal("88.00"), sari_fin, "SARI-2026-0005")
    r = c.post(
        reverse("frontend:payment_assign", args=[payment.pk]), {"invoice": "SARI-2026-0005", "amount": "1"}, follow=True
    )
    assert "applied in full already" in r.content.decode()
    r = c.post(reverse("frontend:payment_assign", args=[payment.pk]), {"invoice": "NOPE", "amount": "x"}, follow=True)
    assert "is not an amount" in r.content.decode()


def test_invoice_page_shows_where_to_pay_and_the_balance(books):
    world, invoices, sari_fin, c = books
    inv = invoices[1]  # SARI-2026-0002: 300 of 800 paid
    for who in (sari_fin, world.finance):  # the issuer's and the payer's finance
        page = client_for(who).get(reverse("frontend:invoice", args=[inv.pk])).content.decode()
        assert payment_reference(inv) in page
        assert "1001234509000012345" in page
        assert "500.00" in page and "partly paid" in page


def test_pdf_invoice_carries_the_reference_and_bank_account(books, monkeypatch):
    world, invoices, sari_fin, c = books
    from billing.exports import documents

    seen = {}
    real = documents.write_pdf

    def spy(**kwargs):
        seen.update(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(documents, "write_pdf", spy)
    r = c.get(f"/api/v1/invoices/{invoices[0].pk}/export/?format=pdf")
    assert r.status_code == 200
    parties = dict(seen["parties"])
    assert payment_reference(invoices[0]) in parties.values()
    assert parties["Account number 账号"] == "1001234509000012345"


def test_receivables_report_per_payer_as_json_and_xlsx(books):
    world, invoices, sari_fin, c = books
    api = world.client(sari_fin)
    data = api.get("/api/v1/receivables/").json()
    by_payer = {p["payer"]: p for p in data["payers"]}
    # USTC: 1200 paid, 800 − 300, 99 unpaid → 599.00; ZJU: 500 overpaid by 150, 345.60 paid → −150.00
    assert by_payer["USTC"]["outstanding"] == "599.00" and by_payer["USTC"]["open_invoices"] == 2
    assert by_payer["ZJU"]["outstanding"] == "-150.00"
    assert data["total"]["outstanding"] == "449.00"
    assert sum(Decimal(v) for v in by_payer["USTC"]["ageing"].values()) == Decimal("599.00")
    r = api.get("/api/v1/receivables/?format=xlsx")
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(b"".join(r.streaming_content))).active.iter_rows(values_only=True))
    ustc = next(row for row in rows if row and row[0] == "USTC")
    assert Decimal(str(ustc[7])).quantize(Decimal("0.01")) == Decimal("599.00")


def test_payer_finance_sees_the_balance_of_what_it_owes(books):
    world, invoices, sari_fin, c = books
    r = world.client(world.finance).get(f"/api/v1/invoices/{invoices[1].pk}/balance/")
    assert r.status_code == 200
    assert (r.json()["balance"], r.json()["state"]) == ("500.00", "partly_paid")
    assert r.json()["payment_reference"] == payment_reference(invoices[1])
    assert r.json()["bank_account"]["number"] == "1001234509000012345"


def test_researchers_and_outsiders_are_refused(books):
    world, invoices, sari_fin, c = books
    for who in (world.researcher, world.outsider, world.manager):
        web = client_for(who)
        assert web.get(reverse("frontend:finance")).status_code == 403
        assert web.post(reverse("frontend:statement_upload"), {}).status_code == 403
        pid = BankPayment.objects.first().pk
        assert (
            web.post(reverse("frontend:payment_assign", args=[pid]), {"invoice": "SARI-2026-0005"}).status_code == 403
        )
        api = world.client(who)
        assert api.get("/api/v1/receivables/").status_code == 403
        assert api.get(f"/api/v1/invoices/{invoices[0].pk}/balance/").status_code == 404
    payer = client_for(world.finance)
    pid = BankPayment.objects.get(payer_name="上海某某仪器有限公司").pk
    r = payer.post(reverse("frontend:payment_assign", args=[pid]), {"invoice": "SARI-2026-0005"}, follow=True)
    assert "not your institution" in r.content.decode()
    assert not PaymentMatch.objects.filter(payment_id=pid).exists()


@pytest.mark.parametrize("n", [2, 12])
def test_console_receivables_queries_do_not_grow(world, n, django_assert_max_num_queries):
    golden_world(world)
    for k in range(n):
        issued_invoice(issuer=world.sari, payer=world.zju, total="10.00", number=f"SARI-2026-{100 + k:04d}")
    c = client_for(finance_of(world.sari, "sari.fin"))
    # The whole finance console, as in test_frontend_finance.py: constant, whatever the number of invoices.
    with django_assert_max_num_queries(20):
        page = c.get(reverse("frontend:finance"))
    assert page.content.decode().count("data-open-invoice=") == 5 + n


@pytest.mark.parametrize(
    ("issued", "bucket"),
    [
        (dt.date(2026, 11, 4), "0-30"),
        (dt.date(2026, 11, 3), "31-60"),
        (dt.date(2026, 10, 4), "61-90"),
        (dt.date(2026, 9, 4), "90+"),
    ],
)
def test_ageing_buckets_count_days_since_issue(world, issued, bucket):
    from billing.receivables import balance_of

    at = dt.datetime.combine(issued, dt.time(23, 30), tzinfo=dt.timezone(dt.timedelta(hours=8)))
    inv = issued_invoice(issuer=world.sari, payer=world.ustc, total="10.00", number="SARI-2026-0001", issued_at=at)
    b = balance_of(inv, today=dt.date(2026, 12, 4))
    assert b.bucket == bucket and b.state == "unpaid"


def test_console_receivables_speak_chinese(books):
    world, invoices, sari_fin, c = books
    c.cookies["django_language"] = "zh-hans"
    page = c.get(reverse("frontend:finance"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "应收账款" in page and "待核销付款" in page and "部分付款" in page


def test_issuer_finance_records_red_letter_and_fapiao_on_the_page(world, settings, tmp_path):
    from billing.models import Fapiao, Invoice, InvoiceSequence, RedLetterConfirmation
    from billing.services.invoicing import invoice_credit_note

    settings.MEDIA_ROOT = tmp_path
    golden_world(world)
    InvoiceSequence.objects.create(issuer=world.sari, year=dt.date.today().year, last=5)
    sari_fin = finance_of(world.sari, "sari.fin")
    note = invoice_credit_note(actor=None, invoice_id=7000005, reason="wrong month")
    c = client_for(sari_fin)
    page = c.get(reverse("frontend:invoice", args=[note.pk])).content.decode()
    assert "does not count until it is" in page
    r = c.post(
        reverse("frontend:red_letter_record", args=[note.pk]),
        {"number": "31000026110000000001", "confirmed_on": "2026-11-09"},
        follow=True,
    )
    assert "is recorded" in r.content.decode()
    assert RedLetterConfirmation.objects.filter(credit_note=note).exists()
    body = {
        "number": "26312000000000000123",
        "kind": "normal",
        "issued_on": "2026-11-05",
        "buyer_name": "中国科学技术大学",
        "buyer_tax_id": "12100000400012345P",
        "tax_rate": "0.06",
        "tax_amount": "67.92",
        "file": SimpleUploadedFile("fp.pdf", b"%PDF-1.7 x", "application/pdf"),
    }
    r = c.post(reverse("frontend:fapiao_record", args=[7000001]), body, follow=True)
    assert "Fapiao 26312000000000000123 is recorded" in r.content.decode()
    assert Fapiao.objects.get(invoice_id=7000001).file_type == "pdf"
    bad = dict(body, number="26312000000000000124", tax_amount="1.00")
    bad["file"] = SimpleUploadedFile("fp.pdf", b"%PDF-1.7 x", "application/pdf")
    r = c.post(reverse("frontend:fapiao_record", args=[7000002]), bad, follow=True)
    assert "differs by more than" in r.content.decode()
    # The payer's finance sees the invoice, but records nothing on it.
    payer = client_for(world.finance)
    assert payer.post(reverse("frontend:fapiao_record", args=[7000002]), dict(body, file="")).status_code == 403
    assert Invoice.objects.get(pk=7000002).kind == "invoice" and not Fapiao.objects.filter(invoice_id=7000002).exists()
