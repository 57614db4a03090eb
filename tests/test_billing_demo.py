"""End to end over the demo history: every booking's charge is billed exactly once, every invoice
adds up, the exports agree with the API to the fen, and seeding again changes nothing."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from rest_framework.test import APIClient

from billing.demo import VOUCHER_CODE, load_demo_billing
from billing.models import Charge, ChargeLine, InnovationVoucher, Invoice, InvoiceLine
from booking.demo import load_demo_history
from booking.models import Booking
from facilities.models import User
from facilities.seed import load_catalog, load_demo_people

D = Decimal


@pytest.fixture(scope="module")
def _demo_loaded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        load_catalog()
        load_demo_people()
        load_demo_history()
        yield load_demo_billing()
        transaction.set_rollback(True)


@pytest.fixture
def demo(_demo_loaded, db):
    return _demo_loaded


def _state():
    return (
        sorted(Invoice.objects.values_list("pk", "number", "status", "total")),
        InvoiceLine.objects.count(),
        sorted(Charge.objects.values_list("booking_id", "amount", "voucher_amount")),
        sorted(InnovationVoucher.objects.values_list("code", "balance")),
    )


def test_demo_has_invoices_in_every_state(demo):
    assert demo["lines_added"] > 0
    statuses = set(Invoice.objects.values_list("status", flat=True))
    assert {"draft", "issued", "paid"} <= statuses
    assert Invoice.objects.filter(payer__code="HEFEI-STB").exists(), "the voucher's part is invoiced to the agency"
    voucher = InnovationVoucher.objects.get(code=VOUCHER_CODE)
    assert D("0") <= voucher.balance < voucher.cap
    assert Charge.objects.filter(subsidy__gt=0).exists()


def test_every_ended_booking_is_charged_and_billed_exactly_once(demo):
    ended = Booking.objects.filter(status__in=["completed", "no_show"], charge__isnull=True)
    assert not ended.exists()
    for charge in Charge.objects.prefetch_related("lines__invoice_lines"):
        lines = list(charge.lines.all())
        assert sum((line.amount for line in lines), D(0)) == charge.amount
        billed = [il for line in lines for il in line.invoice_lines.all() if not il.is_credit]
        assert len(billed) == len(lines), f"charge of booking #{charge.booking_id} not billed exactly once"
        assert sum((il.amount for il in billed), D(0)) == charge.amount
    voucher = InnovationVoucher.objects.get(code=VOUCHER_CODE)
    drawn = ChargeLine.objects.filter(voucher=voucher).aggregate(s=Sum("amount"))["s"] or D(0)
    assert voucher.cap - voucher.balance == drawn


def test_every_invoice_adds_up_and_numbers_have_no_gaps(demo):
    for invoice in Invoice.objects.prefetch_related("lines"):
        assert sum((line.amount for line in invoice.lines.all()), D(0)) == invoice.total
    by_issuer: dict[str, list[int]] = {}
    for number in Invoice.objects.exclude(number=None).values_list("number", flat=True):
        prefix, _, n = number.rpartition("-")
        by_issuer.setdefault(prefix, []).append(int(n))
    assert by_issuer
    for numbers in by_issuer.values():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))


def test_exports_agree_with_the_api_to_the_fen(demo):
    client = APIClient()
    client.force_authenticate(User.objects.get(username="ustc.finance"))
    listing = client.get("/api/v1/invoices/?page_size=500").json()
    assert listing["count"] > 0
    for item in listing["results"]:
        export = client.get(f"/api/v1/invoices/{item['id']}/export/?format=csv")
        rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
        assert [r["amount"] for r in rows] == [line["amount"] for line in item["lines"]]
        assert f"{sum(D(r['amount']) for r in rows):.2f}" == item["total"]


def test_zju_finance_sees_its_own_institution_only(demo):
    client = APIClient()
    client.force_authenticate(User.objects.get(username="zju.finance"))
    zju = {"ZJU"}
    results = client.get("/api/v1/invoices/?page_size=500").json()["results"]
    assert results and all(zju & {i["issuer"], i["payer"]} for i in results)


def test_seeding_again_changes_nothing(demo):
    before = _state()
    counts = load_demo_billing()
    assert counts["lines_added"] == counts["recomputed"] == counts["invoices_issued"] == 0
    assert _state() == before


def test_demo_vouchers_in_both_modes_follow_their_schemes(demo):
    from billing.models import VoucherRedemption, VoucherYearUse

    redemptions = VoucherRedemption.objects.select_related("agency", "facility")
    hefei = {(r.mode, r.facility.code, r.province) for r in redemptions if r.agency.code == "HEFEI-STB"}
    changzhou = {(r.mode, r.facility.code) for r in redemptions if r.agency.code == "CZ-STB"}
    assert ("tongdui", "NFPS", "shanghai") in hefei, "a Hefei voucher is spent at a facility in Shanghai"
    assert changzhou == {("tongyong", "SHMFF")}, "the Changzhou scheme allows SHMFF only"
    statuses = set(redemptions.filter(mode="tongyong").values_list("status", flat=True))
    assert {"reimbursed", "submitted", "pending"} <= statuses
    for use in VoucherYearUse.objects.all():
        drawn = redemptions.filter(scheme=use.scheme, holder=use.holder, year=use.year).exclude(status="refused")
        assert use.used == (drawn.aggregate(s=Sum("amount"))["s"] or D(0)) <= use.scheme.cap_per_company_year
