"""Fapiao: the 20-digit number, the buyer's unified social credit code with its GB 32100-2015 check
character, tax rate and amount, the attached file (type and size checked, stored under MEDIA_ROOT);
a credit note counts only with its red-letter confirmation; the batch-import workbook (golden file);
a provider adapter named by a setting (a fake one here, no network)."""

import datetime as dt
import io
import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from stdnum.cn import uscc

from billing.models import BuyerTaxInfo, Fapiao, Invoice, InvoiceKind
from billing.receivables import balance_of
from billing.services.fapiao import expected_tax, fapiao_issue_through_provider, fapiao_record, red_letter_record
from billing.validators import validate_fapiao_number, validate_tax_id
from common.errors import Conflict

from .factories.receivables import bank_account, finance_of, issued_invoice
from .fapiao_fake import FakeFapiaoProvider

GOLDEN = Path(__file__).parent / "golden"
D = Decimal
TAX_ID = "12100000400012345P"  # check character computed per GB 32100-2015
PDF = b"%PDF-1.7\n% a fapiao\n"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def sari_fin(world):
    return finance_of(world.sari, "sari.fin")


def _record(actor, invoice, **over):
    fields = dict(
        actor=actor,
        invoice_id=invoice.pk,
        number="26312000000000000123",
        kind="normal",
        issued_on=dt.date(2026, 11, 5),
        buyer_name="中国科学技术大学",
        buyer_tax_id=TAX_ID,
        tax_rate=D("0.06"),
        tax_amount=expected_tax(invoice.total, D("0.06")),
    )
    fields.update(over)
    return fapiao_record(**fields)


# --- the numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["91110000600037341L", "12100000400012345P", "91310000MA1FL0000N"])
def test_valid_unified_social_credit_codes_pass(code):
    validate_tax_id(code)
    validate_tax_id(code.lower())  # typed in lower case, still the same code


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("91110000600037341", "18 characters"),
        ("91110000600037341M", "should be L"),
        ("9111000060003734IL", "is not a unified social credit code"),
        ("911A0000600037341L", "3rd to 8th characters are digits"),
    ],
)
def test_invalid_unified_social_credit_codes_are_refused_with_the_reason(code, words):
    with pytest.raises(ValidationError) as exc:
        validate_tax_id(code)
    assert words in exc.value.messages[0]


@given(
    st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=17, max_size=17).map(lambda s: "91" + "310000" + s[8:])
)
def test_exactly_one_check_character_makes_a_code_valid(body):
    valid = [c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if _ok(body + c)]
    assert valid == [uscc.calc_check_digit(body)]


def _ok(code: str) -> bool:
    try:
        validate_tax_id(code)
    except ValidationError:
        return False
    return True


def test_fapiao_number_is_20_digits_beginning_with_the_year():
    validate_fapiao_number("26312000000000000123", year=2026)
    for bad in ("2631200000000000012", "2631200000000000012X", "26312000-00000000123"):
        with pytest.raises(ValidationError):
            validate_fapiao_number(bad, year=2026)
    with pytest.raises(ValidationError, match="last two digits"):
        validate_fapiao_number("25312000000000000123", year=2026)


# --- recording ----------------------------------------------------------------------------------------


def test_issuer_finance_records_a_fapiao_with_its_pdf(world, sari_fin, media):
    invoice = issued_invoice(issuer=world.sari, payer=world.ustc, total="1060.00", number="SARI-2026-0001")
    fapiao = _record(sari_fin, invoice, file_name="fp.pdf", file_content=PDF)
    assert fapiao.tax_amount == D("60.00")
    assert fapiao.file_type == "pdf"
    stored = media / fapiao.file.name
    assert stored.read_bytes() == PDF
    assert str(stored).startswith(str(media))
    with pytest.raises(Conflict):
        _record(sari_fin, invoice, number="26312000000000000124")


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("fp.docx", PDF, "PDF, OFD or XML"),
        ("fp.pdf", b"<html>not a pdf", "not PDF"),
        ("fp.ofd", PDF, "not OFD"),
        ("fp.xml", b"", "empty"),
    ],
)
def test_fapiao_files_of_the_wrong_type_are_refused(world, sari_fin, media, name, content, words):
    invoice = issued_invoice(issuer=world.sari, payer=world.ustc, total="1060.00", number="SARI-2026-0001")
    with pytest.raises(ValidationError) as exc:
        _record(sari_fin, invoice, file_name=name, file_content=content)
    assert words in " ".join(exc.value.messages)
    assert not Fapiao.objects.exists()


def test_a_fapiao_file_over_the_limit_is_refused(world, sari_fin, media, settings):
    settings.RECEIVABLES_UPLOAD_MAX_BYTES = 100
    invoice = issued_invoice(issuer=world.sari, payer=world.ustc, total="1060.00", number="SARI-2026-0001")
    with pytest.raises(ValidationError, match="at most 100 bytes"):
        _record(sari_fin, invoice, file_name="fp.pdf", file_content=PDF + b"x" * 200)


def test_tax_amount_must_fit_the_rate(world, sari_fin, media):
    invoice = issued_invoice(issuer=world.sari, payer=world.ustc, total="1060.00", number="SARI-2026-0001")
    with pytest.raises(ValidationError) as exc:
        _record(sari_fin, invoice, tax_amount=D("60.07"))
    assert "tax_amount" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        _record(sari_fin, invoice, tax_rate=D("0.07"))
    assert "tax_rate" in exc.value.message_dict
    assert _record(sari_fin, invoice, tax_amount=D("60.06")).tax_amount == D("60.06")  # within 0.06


def test_only_the_issuers_finance_records(world, sari_fin, media):
    invoice = issued_invoice(issuer=world.sari, payer=world.ustc, total="1060.00", number="SARI-2026-0001")
    with pytest.raises(PermissionDenied):
        _record(world.finance, invoice)  # the payer's finance sees the invoice but does not issue it
    from django.http import Http404

    for user in (world.researcher, world.outsider, world.manager):
        with pytest.raises(Http404):
            _record(user, invoice)


def test_a_credit_note_counts_only_with_its_red_letter_confirmation(world, sari_fin, media):
    invoice = issued_invoice(issuer=world.sari, payer=world.ustc, total="1000.00", number="SARI-2026-0001")
    note = Invoice.objects.create(
        kind=InvoiceKind.CREDIT_NOTE,
        credit_of=invoice,
        issuer=world.sari,
        payer=world.ustc,
        period="2026-10",
        status="issued",
        number="SARI-2026-0002",
        total=D("-1000.00"),
        issued_at=invoice.issued_at,
    )
    assert balance_of(invoice).balance == D("1000.00")
    with pytest.raises(ValidationError, match="red-letter confirmation"):
        _record(sari_fin, note, number="26312000000000000999", tax_amount=D("-56.60"))
    with pytest.raises(ValidationError, match="20 digits"):
        red_letter_record(actor=sari_fin, credit_note_id=note.pk, number="123", confirmed_on=dt.date(2026, 11, 9))
    with pytest.raises(ValidationError, match="Only a credit note"):
        red_letter_record(
            actor=sari_fin, credit_note_id=invoice.pk, number="31000026110000000001", confirmed_on=dt.date(2026, 11, 9)
        )
    red_letter_record(
        actor=sari_fin, credit_note_id=note.pk, number="31000026110000000001", confirmed_on=dt.date(2026, 11, 9)
    )
    assert balance_of(invoice).balance == D("0.00")
    assert _record(sari_fin, note, number="26312000000000000999", tax_amount=D("-56.60")).invoice == note


# --- over HTTP ------------------------------------------------------------------------------------------


def test_fapiao_upload_and_download_over_the_api(world, sari_fin, media):
    invoice = issued_invoice(issuer=world.sari, payer=world.ustc, total="1060.00", number="SARI-2026-0001")
    api = world.client(sari_fin)
    body = {
        "number": "26312000000000000123",
        "kind": "special",
        "issued_on": "2026-11-05",
        "buyer_name": "中国科学技术大学",
        "buyer_tax_id": TAX_ID,
        "tax_rate": "0.06",
        "tax_amount": "60.00",
        "file": SimpleUploadedFile("fp.pdf", PDF, "application/pdf"),
    }
    r = api.post(f"/api/v1/invoices/{invoice.pk}/fapiao/", body, format="multipart")
    assert r.status_code == 201, r.content
    assert r.json()["file"] == f"/api/v1/invoices/{invoice.pk}/fapiao/file/"
    payer = world.client(world.finance)
    assert payer.get(f"/api/v1/invoices/{invoice.pk}/fapiao/").json()["number"] == "26312000000000000123"
    got = payer.get(f"/api/v1/invoices/{invoice.pk}/fapiao/file/")
    assert got.status_code == 200 and b"".join(got.streaming_content) == PDF
    bad = dict(body, buyer_tax_id="12100000400012345Q", number="26312000000000000124")
    bad["file"] = SimpleUploadedFile("fp.pdf", PDF, "application/pdf")
    r = api.post(f"/api/v1/invoices/{invoice.pk}/fapiao/", bad, format="multipart")
    assert r.status_code in (400, 409)


def test_fapiao_endpoints_refuse_who_may_not_touch_them(world, sari_fin, media):
    invoice = issued_invoice(issuer=world.sari, payer=world.ustc, total="1060.00", number="SARI-2026-0001")
    _record(sari_fin, invoice, file_name="fp.pdf", file_content=PDF)
    for user in (world.researcher, world.outsider, world.manager):
        api = world.client(user)
        assert api.get(f"/api/v1/invoices/{invoice.pk}/fapiao/").status_code == 404
        assert api.get(f"/api/v1/invoices/{invoice.pk}/fapiao/file/").status_code == 404
        assert api.get(f"/api/v1/invoices/{invoice.pk}/balance/").status_code == 404
        assert api.post(f"/api/v1/invoices/{invoice.pk}/red-letter/", {}, format="json").status_code in (400, 404)
        assert api.get("/api/v1/fapiao/batch/?period=2026-10").status_code == 403
    r = world.client(world.finance).post(
        f"/api/v1/invoices/{invoice.pk}/red-letter/",
        {"number": "31000026110000000001", "confirmed_on": "2026-11-09"},
        format="json",
    )
    assert r.status_code == 403


# --- the batch-import workbook -----------------------------------------------------------------------


def _sheets(content: bytes) -> dict:
    wb = load_workbook(io.BytesIO(content), read_only=True)
    return {
        ws.title: [[str(v) if v is not None else "" for v in row] for row in ws.iter_rows(values_only=True)]
        for ws in wb.worksheets
    }


def test_fapiao_batch_export_matches_the_golden_file(world, sari_fin):
    world.ustc.name_zh, world.zju.name_zh = "中国科学技术大学", "浙江大学"
    world.ustc.save()
    world.zju.save()
    bank_account(world.sari)
    BuyerTaxInfo.objects.create(
        institution=world.ustc, tax_id=TAX_ID, fapiao_kind="special", address="合肥市金寨路96号", phone="0551-63602553"
    )
    issued_invoice(issuer=world.sari, payer=world.ustc, total="1200.00", number="SARI-2026-0001", pk=7000001)
    issued_invoice(issuer=world.sari, payer=world.zju, total="345.60", number="SARI-2026-0002", pk=7000002)
    issued_invoice(
        issuer=world.sari, payer=world.zju, total="5.00", number="SARI-2026-0003", pk=7000003, period="2026-09"
    )
    r = world.client(sari_fin).get("/api/v1/fapiao/batch/?period=2026-10")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    actual = _sheets(b"".join(r.streaming_content))
    path = GOLDEN / "fapiao_batch_2026-10.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(actual, ensure_ascii=False, indent=1) + "\n", "utf-8")
    assert actual == json.loads(path.read_text("utf-8"))


# --- a provider ------------------------------------------------------------------------------------------


@pytest.fixture
def fake_provider(settings):
    settings.FAPIAO_PROVIDER = "tests.fapiao_fake.FakeFapiaoProvider"
    FakeFapiaoProvider.reset()
    yield FakeFapiaoProvider
    FakeFapiaoProvider.reset()


def test_the_configured_provider_issues_and_the_fapiao_is_recorded_once(world, sari_fin, media, fake_provider):
    invoice = issued_invoice(issuer=world.sari, payer=world.ustc, total="1060.00", number="SARI-2026-0001")
    BuyerTaxInfo.objects.create(institution=world.ustc, tax_id=TAX_ID)
    r = world.client(sari_fin).post(f"/api/v1/invoices/{invoice.pk}/fapiao/issue/", {}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["provider"] == "fake" and r.json()["tax_amount"] == "60.00"
    again = fapiao_issue_through_provider(actor=sari_fin, invoice_id=invoice.pk, buyer_tax_id=TAX_ID, kind="normal")
    assert again.number == r.json()["number"]
    assert Fapiao.objects.count() == 1 and len(fake_provider.requests) == 1
    assert fake_provider.requests[0].buyer_tax_id == TAX_ID


def test_a_provider_refusal_is_a_conflict_in_words(world, sari_fin, media, fake_provider):
    fake_provider.refuse = "buyer tax id unknown to the tax bureau"
    invoice = issued_invoice(issuer=world.sari, payer=world.ustc, total="1060.00", number="SARI-2026-0001")
    r = world.client(sari_fin).post(
        f"/api/v1/invoices/{invoice.pk}/fapiao/issue/", {"buyer_tax_id": TAX_ID}, format="json"
    )
    assert r.status_code == 409 and "unknown to the tax bureau" in r.json()["detail"]
    assert not Fapiao.objects.exists()


def test_without_a_provider_issuing_through_one_is_refused(world, sari_fin, settings):
    settings.FAPIAO_PROVIDER = ""
    invoice = issued_invoice(issuer=world.sari, payer=world.ustc, total="1060.00", number="SARI-2026-0001")
    r = world.client(sari_fin).post(
        f"/api/v1/invoices/{invoice.pk}/fapiao/issue/", {"buyer_tax_id": TAX_ID}, format="json"
    )
    assert r.status_code == 400 and "No fapiao service provider" in str(r.json())
