"""Demo billing: charge policies, a host subsidy, an innovation voucher, and the invoices of the past
three months (the oldest paid, the next issued, the last one still draft), so the finance pages and
exports have real content. Idempotent: it keys everything on codes, recomputes only charges that are
not invoiced yet, and a second invoice run changes nothing."""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from common.time import local_tz
from facilities.models import Facility, Institution, Instrument

from .models import BillingProfile, Charge, ChargePolicy, HostSubsidy, InnovationVoucher, Invoice, InvoiceLine
from .periods import previous_period, shift_period
from .services.charges import charge_recompute
from .services.invoicing import invoice_issue, invoice_mark_paid, run_period

AGENCY = ("HEFEI-STB", "Hefei Science and Technology Bureau", "合肥市科学技术局", "agency", "anhui", "Hefei")
VOUCHER_CODE = "HFSTB-IV-2026-001"
# facility code → (billing model, minimum charge, no-show percent, late-cancel hours, late-cancel percent)
POLICIES = {
    "SSRF": ("booked", Decimal("0"), Decimal("100"), 72, Decimal("50")),
    "SHMFF": ("actual", Decimal("800.00"), Decimal("50"), 48, Decimal("30")),
    "NFPS": ("actual", Decimal("300.00"), Decimal("100"), 24, Decimal("50")),
    "CHIEF": ("booked", Decimal("0"), Decimal("100"), 72, Decimal("50")),
}
SUBSIDY = ("SHMFF", "USTC", Decimal("20"), "Hefei partner programme")


def _agency() -> Institution:
    code, name, name_zh, kind, province, city = AGENCY
    agency, _ = Institution.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "name_zh": name_zh,
            "kind": kind,
            "province": province,
            "city": city,
            "city_zh": "合肥",
        },
    )
    return agency


def _policies() -> int:
    count = 0
    for instrument in Instrument.objects.filter(facility__code__in=POLICIES).select_related("facility"):
        model, minimum, no_show, hours, late = POLICIES[instrument.facility.code]
        _, created = ChargePolicy.objects.get_or_create(
            instrument=instrument,
            defaults={
                "billing_model": model,
                "minimum_charge": minimum,
                "no_show_percent": no_show,
                "late_cancel_hours": hours,
                "late_cancel_percent": late,
            },
        )
        count += created
    return count


def load_demo_billing(now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    today = timezone.localtime(now, local_tz()).date()
    periods = [shift_period(previous_period(now), -k) for k in (2, 1, 0)]
    counts = {"policies": 0, "recomputed": 0, "invoices_issued": 0, "invoices_paid": 0, "lines_added": 0}
    with transaction.atomic():
        agency = _agency()
        counts["policies"] = _policies()
        facility_code, partner_code, percent, note = SUBSIDY
        facility = Facility.objects.filter(code=facility_code).first()
        partner = Institution.objects.filter(code=partner_code).first()
        if facility and partner:
            HostSubsidy.objects.get_or_create(
                facility=facility,
                partner=partner,
                defaults={
                    "percent": percent,
                    "valid_from": dt.date(today.year - 1, 1, 1),
                    "valid_until": dt.date(today.year + 1, 12, 31),
                    "note": note,
                },
            )
        holder = Institution.objects.filter(code="SUNRAY").first()
        if holder:
            InnovationVoucher.objects.get_or_create(
                code=VOUCHER_CODE,
                defaults={
                    "agency": agency,
                    "holder": holder,
                    "percent": Decimal("50"),
                    "cap": Decimal("30000.00"),
                    "balance": Decimal("30000.00"),
                    "valid_from": dt.date(today.year - 1, 1, 1),
                    "valid_until": dt.date(today.year + 1, 12, 31),
                },
            )
        for code in ("SARI", "CHMFL", "CAS-SH", "ZJU"):
            inst = Institution.objects.filter(code=code).first()
            if inst:
                BillingProfile.objects.get_or_create(
                    institution=inst, defaults={"billing_email": f"finance@{code.lower()}.example"}
                )
    # Charges made before the policies above existed are brought in line, as long as nobody billed them yet.
    pending = (
        Charge.objects.filter(period__in=periods)
        .exclude(pk__in=InvoiceLine.objects.values("charge_line__charge_id"))
        .values_list("booking_id", flat=True)
    )
    for booking_id in list(pending):
        charge_recompute(booking_id=booking_id)
        counts["recomputed"] += 1
    for period in periods:
        counts["lines_added"] += run_period(period=period).lines_added
    for period in periods[:2]:
        for invoice in Invoice.objects.filter(period=period, status=Invoice.Status.DRAFT, kind="invoice").order_by(
            "issuer_id", "payer_id", "id"
        ):
            invoice = invoice_issue(actor=None, invoice_id=invoice.pk)
            counts["invoices_issued"] += 1
            if period == periods[0]:
                invoice_mark_paid(invoice_id=invoice.pk)
                counts["invoices_paid"] += 1
    return counts
