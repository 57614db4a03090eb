"""Bank statements: two banks' export layouts read into the same payments (golden files), payments
matched to invoices by reference, invoice number, or payer and amount; paid, partly paid, overpaid and
unmatched; a person assigns the rest; every match audited; only the issuer's finance imports and assigns."""

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.bank_statements import parse_statement
from billing.models import BankPayment, Invoice, PaymentMatch
from billing.receivables import balance_of
from billing.services.payments import payment_assign, statement_import
from common.errors import Conflict

from .factories.receivables import finance_of, golden_world

GOLDEN = Path(__file__).parent / "golden"
D = Decimal


def _golden(name: str, actual) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(actual, ensure_ascii=False, indent=1) + "\n", "utf-8")
    assert actual == json.loads(path.read_text("utf-8"))


def _outcome(invoices) -> dict:
    payments = [
        {
            "date": p.value_date.isoformat(),
            "amount": f"{p.amount:.2f}",
            "payer": p.payer_name,
            "memo": p.memo,
            "status": p.status,
            "matches": [[m.invoice.number, f"{m.amount:.2f}", m.method] for m in p.matches.all()],
        }
        for p in BankPayment.objects.order_by("value_date", "id").prefetch_related("matches__invoice")
    ]
    balances = {}
    for inv in invoices:
        inv = Invoice.objects.get(pk=inv.pk)
        b = balance_of(inv)
        balances[inv.number] = {"status": inv.status, "state": b.state, "balance": f"{b.balance:.2f}"}
    return {"payments": payments, "invoices": balances}


@pytest.fixture
def golden(world):
    account, invoices = golden_world(world)
    return account, invoices, finance_of(world.sari, "sari.fin")


@pytest.mark.parametrize(
    ("filename", "layout"), [("icbc_statement_2026-11.csv", "icbc"), ("boc_statement_2026-11.xlsx", "boc")]
)
def test_statement_files_are_read_into_incoming_payments(filename, layout):
    code, rows = parse_statement((GOLDEN / filename).read_bytes())
    assert code == layout
    actual = [[r.line, r.value_date.isoformat(), f"{r.amount:.2f}", r.payer_name, r.memo, r.reference] for r in rows]
    _golden(filename.rsplit(".", 1)[0] + ".parsed.json", actual)


def test_icbc_statement_in_gbk_is_imported_and_matched(golden):
    account, invoices, sari_fin = golden
    data = (GOLDEN / "icbc_statement_2026-11.csv").read_bytes()
    data.decode("gbk")  # the file really is GBK …
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # … and not UTF-8
    statement = statement_import(actor=sari_fin, filename="icbc.csv", content=data)
    assert (statement.bank_format, statement.rows_read, statement.payments_new, statement.payments_matched) == (
        "icbc",
        6,
        6,
        4,
    )
    outcome = _outcome(invoices)
    _golden("icbc_statement_2026-11.outcome.json", outcome)
    states = {n: v["state"] for n, v in outcome["invoices"].items()}
    assert states == {
        "SARI-2026-0001": "paid",
        "SARI-2026-0002": "partly_paid",
        "SARI-2026-0003": "overpaid",
        "SARI-2026-0004": "paid",
        "SARI-2026-0005": "unpaid",
    }
    assert Invoice.objects.get(number="SARI-2026-0001").status == "paid"
    assert Invoice.objects.get(number="SARI-2026-0002").status == "issued"


def test_boc_statement_in_xlsx_is_imported_and_matched(golden):
    account, invoices, sari_fin = golden
    statement = statement_import(
        actor=sari_fin, filename="boc.xlsx", content=(GOLDEN / "boc_statement_2026-11.xlsx").read_bytes(), bank="boc"
    )
    assert (statement.payments_new, statement.payments_matched) == (4, 3)
    outcome = _outcome(invoices)
    _golden("boc_statement_2026-11.outcome.json", outcome)
    assert outcome["invoices"]["SARI-2026-0003"] == {"status": "paid", "state": "paid", "balance": "0.00"}


def test_the_same_statement_twice_applies_nothing_twice(golden):
    account, invoices, sari_fin = golden
    data = (GOLDEN / "icbc_statement_2026-11.csv").read_bytes()
    statement_import(actor=sari_fin, filename="a.csv", content=data)
    before = _outcome(invoices)
    again = statement_import(actor=sari_fin, filename="b.csv", content=data)
    assert (again.payments_new, again.payments_known, again.payments_matched) == (0, 6, 0)
    assert _outcome(invoices) == before
    assert PaymentMatch.objects.count() == 4


def test_utf8_csv_with_byte_order_mark_reads_the_same_as_gbk():
    gbk = (GOLDEN / "icbc_statement_2026-11.csv").read_bytes()
    utf8 = "\ufeff".encode() + gbk.decode("gbk").encode("utf-8")
    assert parse_statement(gbk) == parse_statement(utf8)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x00\xff\xfe\x00garbage", "neither UTF-8 nor GBK"),
        (b"date,name,amount\n2026-11-01,A,1.00\n", "columns match no known bank layout"),
        ("交易日期,对方户名,贷方发生额\n2026-11-01,A,12.345\n".encode("gbk"), "line 2"),
        ("交易日期,对方户名,贷方发生额\n2026-13-45,A,12.00\n".encode(), "is not a date"),
        (b"PK\x03\x04not really a workbook", "cannot be opened"),
    ],
)
def test_unreadable_statements_are_refused_with_the_reason(content, words):
    with pytest.raises(ValidationError) as exc:
        parse_statement(content)
    assert words in " ".join(exc.value.messages)


def test_unmatched_payment_is_assigned_by_a_person_and_audited(golden):
    account, invoices, sari_fin = golden
    statement_import(actor=sari_fin, filename="icbc.csv", content=(GOLDEN / "icbc_statement_2026-11.csv").read_bytes())
    payment = BankPayment.objects.get(payer_name="中国科学技术大学财务处")
    assert payment.status == "unmatched" and "No payment reference" in payment.note
    part = payment_assign(actor=sari_fin, payment_id=payment.pk, invoice_id=7000005, amount=D("40.00"))
    payment.refresh_from_db()
    assert (payment.status, payment.applied) == ("partly_applied", D("40.00"))
    assert (part.matched_by, part.method) == (sari_fin, "manual")
    rest = payment_assign(actor=sari_fin, payment_id=payment.pk, invoice_id=7000005)
    assert rest.amount == D("59.00")
    payment.refresh_from_db()
    assert payment.status == "applied"
    assert balance_of(Invoice.objects.get(pk=7000005)).state == "paid"
    with pytest.raises(Conflict):
        payment_assign(actor=sari_fin, payment_id=payment.pk, invoice_id=7000002, amount=D("1.00"))
    entries = LogEntry.objects.get_for_objects(PaymentMatch.objects.filter(payment=payment))
    assert entries.count() == 2


def test_assigning_more_than_is_left_is_refused(golden):
    account, invoices, sari_fin = golden
    statement_import(actor=sari_fin, filename="icbc.csv", content=(GOLDEN / "icbc_statement_2026-11.csv").read_bytes())
    payment = BankPayment.objects.get(payer_name="上海某某仪器有限公司")
    with pytest.raises(ValidationError) as exc:
        payment_assign(actor=sari_fin, payment_id=payment.pk, invoice_id=7000005, amount=D("88.01"))
    assert "at most 88.00" in " ".join(exc.value.messages)


def test_only_the_issuers_finance_imports_and_assigns(golden, world):
    account, invoices, sari_fin = golden
    data = (GOLDEN / "icbc_statement_2026-11.csv").read_bytes()
    for user in (world.researcher, world.outsider, world.manager):
        with pytest.raises(PermissionDenied):
            statement_import(actor=user, filename="x.csv", content=data)
    # USTC finance pays these invoices but keeps no SARI account: nothing of SARI's is theirs.
    from django.http import Http404

    with pytest.raises((ValidationError, Http404)):
        statement_import(actor=world.finance, filename="x.csv", content=data, bank_account_id=account.pk)
    statement_import(actor=sari_fin, filename="x.csv", content=data)
    payment = BankPayment.objects.get(payer_name="上海某某仪器有限公司")
    with pytest.raises(Http404):
        payment_assign(actor=world.finance, payment_id=payment.pk, invoice_id=7000005)


# --- over HTTP --------------------------------------------------------------------------------------


def _upload(client, name="icbc.csv"):
    data = (GOLDEN / "icbc_statement_2026-11.csv").read_bytes()
    return client.post(
        "/api/v1/bank-statements/", {"file": SimpleUploadedFile(name, data, "text/csv")}, format="multipart"
    )


def test_statement_upload_and_payments_over_the_api(golden, world):
    account, invoices, sari_fin = golden
    api = world.client(sari_fin)
    r = _upload(api)
    assert r.status_code == 201, r.content
    assert r.json()["payments_matched"] == 4
    listed = api.get("/api/v1/bank-statements/").json()
    assert listed["count"] == 1
    unmatched = api.get("/api/v1/payments/?status=unmatched").json()
    assert unmatched["count"] == 2
    pid = next(p["id"] for p in unmatched["results"] if p["amount"] == "88.00")
    r = api.post(f"/api/v1/payments/{pid}/assign/", {"invoice": 7000005, "amount": "88.00"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["matches"][0]["matched_by"] == "sari.fin"
    r = api.post(f"/api/v1/payments/{pid}/assign/", {"invoice": 7000005}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "payment_applied"
    r = api.post(f"/api/v1/payments/{pid}/assign/", {"invoice": "x"}, format="json")
    assert r.status_code == 400
    assert api.get("/api/v1/payments/?status=nonsense").status_code == 400


def test_statement_endpoints_refuse_who_may_not_touch_them(golden, world):
    account, invoices, sari_fin = golden
    _upload(world.client(sari_fin))
    pid = BankPayment.objects.get(payer_name="上海某某仪器有限公司").pk
    for user in (world.researcher, world.outsider, world.manager):
        api = world.client(user)
        assert _upload(api).status_code == 403
        assert api.get("/api/v1/bank-statements/").status_code == 403
        assert api.get("/api/v1/payments/").status_code == 403
        assert api.post(f"/api/v1/payments/{pid}/assign/", {"invoice": 7000005}, format="json").status_code in (
            403,
            404,
        )
    anonymous = world.client(None)
    assert anonymous.get("/api/v1/payments/").status_code in (401, 403)
    payer_fin = world.client(world.finance)  # USTC finance: sees no SARI payment, assigns none
    assert payer_fin.get("/api/v1/payments/").json()["count"] == 0
    assert payer_fin.post(f"/api/v1/payments/{pid}/assign/", {"invoice": 7000005}, format="json").status_code == 404


def test_a_large_statement_is_accepted_on_its_path_only(golden, world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    account, invoices, sari_fin = golden
    body = "交易日期,对方户名,贷方发生额\n" + "".join(f"2026-11-01,某公司{i},1.00\n" for i in range(200))
    api = world.client(sari_fin)
    r = api.post(
        "/api/v1/bank-statements/",
        {"file": SimpleUploadedFile("big.csv", body.encode("gbk"), "text/csv")},
        format="multipart",
    )
    assert r.status_code == 201, r.content
    assert r.json()["payments_new"] == 200
    r = api.post("/api/v1/invoices/runs/", {"period": "2026-10", "pad": "x" * 2000}, format="json")
    assert r.status_code == 413


def test_every_receivables_endpoint_is_in_the_schema(client, db):
    import yaml

    schema = yaml.safe_load(client.get("/api/v1/schema/").content)
    paths = schema["paths"]
    for path, method in [
        ("/api/v1/invoices/{id}/fapiao/", "get"),
        ("/api/v1/invoices/{id}/fapiao/", "post"),
        ("/api/v1/invoices/{id}/fapiao/file/", "get"),
        ("/api/v1/invoices/{id}/fapiao/issue/", "post"),
        ("/api/v1/invoices/{id}/red-letter/", "post"),
        ("/api/v1/invoices/{id}/balance/", "get"),
        ("/api/v1/fapiao/batch/", "get"),
        ("/api/v1/bank-statements/", "get"),
        ("/api/v1/bank-statements/", "post"),
        ("/api/v1/payments/", "get"),
        ("/api/v1/payments/{id}/assign/", "post"),
        ("/api/v1/receivables/", "get"),
    ]:
        assert method in paths[path], (path, method)
    upload = paths["/api/v1/bank-statements/"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload


def test_an_invoice_with_payments_applied_cannot_be_voided(golden):
    from billing.services.invoicing import invoice_void

    account, invoices, sari_fin = golden
    statement_import(actor=sari_fin, filename="icbc.csv", content=(GOLDEN / "icbc_statement_2026-11.csv").read_bytes())
    with pytest.raises(Conflict) as exc:
        invoice_void(actor=sari_fin, invoice_id=7000002)  # 300 of 800 received
    assert exc.value.code == "has_payments"
    assert invoice_void(actor=sari_fin, invoice_id=7000005).status == "void"  # nothing received yet
