"""Malformed input to the receivables endpoints gets a 4xx in words, never a 500, and writes nothing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.models import BankPayment, Fapiao, PaymentMatch, RedLetterConfirmation

from .factories.receivables import finance_of, golden_world
from .test_receivables_statements import GOLDEN


@pytest.fixture
def setup(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    golden_world(world)
    fin = finance_of(world.sari, "sari.fin")
    api = world.client(fin)
    data = (GOLDEN / "icbc_statement_2026-11.csv").read_bytes()
    api.post("/api/v1/bank-statements/", {"file": SimpleUploadedFile("s.csv", data)}, format="multipart")
    return api, BankPayment.objects.get(payer_name="上海某某仪器有限公司").pk


def _words(r, status=400):
    assert r.status_code == status, (r.status_code, r.content[:300])
    assert r.json(), r.content
    return r.json()


@pytest.mark.parametrize(
    "body",
    [
        {"invoice": 10**30},
        {"invoice": "SARI-2026-0005"},
        {"invoice": 7000005, "amount": "abc"},
        {"invoice": 7000005, "amount": "1e400"},
        {"invoice": 7000005, "amount": "NaN"},
        {"invoice": 7000005, "amount": "-1"},
        {"invoice": 7000005, "amount": "0.001"},
        {"invoice": 7000005, "amount": "0"},
        {"invoice": 7000005, "amount": [1]},
        {},
    ],
)
def test_bad_assignments(setup, body):
    api, pid = setup
    _words(api.post(f"/api/v1/payments/{pid}/assign/", body, format="json"))
    assert not PaymentMatch.objects.filter(payment_id=pid).exists()


def test_bad_assignment_bodies_and_ids(setup):
    api, pid = setup
    _words(api.post(f"/api/v1/payments/{pid}/assign/", [1, 2], format="json"))
    _words(api.post(f"/api/v1/payments/{pid}/assign/", "x", content_type="application/json"))
    _words(api.post(f"/api/v1/payments/{10**25}/assign/", {"invoice": 7000005}, format="json"), 404)


@pytest.mark.parametrize(
    "change",
    [
        {"number": "abc"},
        {"issued_on": "yesterday"},
        {"tax_rate": "x"},
        {"tax_rate": "0.065"},
        {"tax_amount": "1e999"},
        {"kind": "golden"},
        {"buyer_tax_id": ""},
        {"buyer_tax_id": "X" * 18},
    ],
)
def test_bad_fapiao_fields(setup, change):
    api, _ = setup
    body = {
        "number": "26312000000000000123",
        "kind": "normal",
        "issued_on": "2026-11-05",
        "buyer_name": "中国科学技术大学",
        "buyer_tax_id": "12100000400012345P",
        "tax_rate": "0.06",
        "tax_amount": "67.92",
        **change,
    }
    _words(api.post("/api/v1/invoices/7000001/fapiao/", body, format="json"))
    assert not Fapiao.objects.exists()


def test_bad_files_statements_and_queries(setup):
    api, _ = setup
    _words(api.post("/api/v1/bank-statements/", {}, format="multipart"))
    _words(api.post("/api/v1/bank-statements/", {"file": SimpleUploadedFile("s.csv", b"x")}, format="multipart"))
    _words(
        api.post(
            "/api/v1/bank-statements/",
            {"file": SimpleUploadedFile("s.csv", b"a,b\n"), "bank": "nope"},
            format="multipart",
        )
    )
    _words(api.post("/api/v1/bank-statements/", {"file": SimpleUploadedFile("s.csv", b"a"), "account": "1x"}))
    _words(api.post("/api/v1/invoices/7000001/red-letter/", ["x"], format="json"))
    _words(api.post("/api/v1/invoices/7000001/red-letter/", {"number": "1", "confirmed_on": "2026-11-01"}))
    _words(api.get("/api/v1/receivables/?format=pdf"))
    _words(api.get("/api/v1/fapiao/batch/?period=2026-13"))
    _words(api.get("/api/v1/fapiao/batch/?period=2026-10&pending=maybe"))
    _words(api.get("/api/v1/fapiao/batch/"))
    _words(api.get("/api/v1/receivables/?institution=NOPE"), 404)
    assert not RedLetterConfirmation.objects.exists()
