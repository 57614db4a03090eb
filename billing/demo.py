"""Demo billing: charge policies, a host subsidy, innovation vouchers under two issuers' schemes (a Hefei
通兑 one and a Changzhou 通用 one, with its claims), and the invoices of the past three months (the oldest
paid, the next issued, the last one still draft), so the finance pages and exports have real content.
Idempotent: it keys everything on codes, recomputes only charges that are
not invoiced yet, and a second invoice run changes nothing."""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from common.time import local_tz
from facilities.models import Facility, Institution, Instrument

from .models import (
    BillingProfile,
    Charge,
    ChargePolicy,
    HostSubsidy,
    InnovationVoucher,
    InternalTransfer,
    Invoice,
    InvoiceLine,
    VoucherRedemption,
    VoucherScheme,
)
from .periods import previous_period, shift_period
from .services.charges import charge_recompute
from .services.invoicing import invoice_issue, invoice_mark_paid, run_period

AGENCY = ("HEFEI-STB", "Hefei Science and Technology Bureau", "合肥市科学技术局", "agency", "anhui", "Hefei")
VOUCHER_CODE = "HFSTB-IV-2026-001"
CZ_AGENCY = ("CZ-STB", "Changzhou Science and Technology Bureau", "常州市科学技术局", "agency", "jiangsu", "Changzhou")
CZ_VOUCHER_CODE = "CZSTB-IV-2026-001"
# scheme code → (agency code, name, Chinese name, mode, rate, cap per company and year, provinces, facilities)
SCHEMES = {
    "hefei-stb-tongdui": (
        "HEFEI-STB",
        "Hefei innovation vouchers, redeemed by the facility",
        "合肥市创新券（通兑）",
        "tongdui",
        Decimal("50"),
        Decimal("30000.00"),
        ["anhui", "shanghai"],  # a Hefei voucher is spent in Shanghai too
        [],
    ),
    "changzhou-stb-tongyong": (
        "CZ-STB",
        "Changzhou innovation vouchers, reimbursed to the company",
        "常州市创新券（通用）",
        "tongyong",
        Decimal("40"),
        Decimal("20000.00"),
        [],
        ["SHMFF"],  # only at the Hefei magnet facility
    ),
}
# facility code → (billing model, minimum charge, no-show percent, late-cancel hours, late-cancel percent)
POLICIES = {
    "SSRF": ("booked", Decimal("0"), Decimal("100"), 72, Decimal("50")),
    "SHMFF": ("actual", Decimal("800.00"), Decimal("50"), 48, Decimal("30")),
    "NFPS": ("actual", Decimal("300.00"), Decimal("100"), 24, Decimal("50")),
    "CHIEF": ("booked", Decimal("0"), Decimal("100"), 72, Decimal("50")),
}
SUBSIDY = ("SHMFF", "USTC", Decimal("20"), "Hefei partner programme")


def _agency(row=AGENCY) -> Institution:
    code, name, name_zh, kind, province, city = row
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


def _schemes(today: dt.date) -> dict[str, VoucherScheme]:
    out = {}
    for code, (agency, name, name_zh, mode, percent, cap, provinces, facilities) in SCHEMES.items():
        scheme, created = VoucherScheme.objects.get_or_create(
            code=code,
            defaults={
                "agency": Institution.objects.get(code=agency),
                "name": name,
                "name_zh": name_zh,
                "mode": mode,
                "percent": percent,
                "cap_per_company_year": cap,
                "provinces": provinces,
                "valid_from": dt.date(today.year - 1, 1, 1),
                "valid_until": dt.date(today.year + 1, 12, 31),
            },
        )
        if created and facilities:
            scheme.facilities.set(Facility.objects.filter(code__in=facilities))
        out[code] = scheme
    return out


def _claims(periods: list[str]) -> int:
    """The demo's 通用 claims: the oldest month's reimbursed, the next month's submitted, the last month's
    pending (its invoice is still a draft)."""
    from .services.vouchers import claim_approve, claim_reimburse, claim_submit

    moved = 0
    for claim in VoucherRedemption.objects.filter(mode="tongyong", status="pending", period__in=periods[:2]):
        claim_submit(actor=None, redemption_id=claim.pk)
        moved += 1
        if claim.period == periods[0]:
            claim_approve(actor=None, redemption_id=claim.pk)
            claim_reimburse(actor=None, redemption_id=claim.pk)
    return moved


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
        _agency(CZ_AGENCY)
        schemes = _schemes(today)
        holder = Institution.objects.filter(code="SUNRAY").first()
        if holder:
            voucher, _ = InnovationVoucher.objects.get_or_create(
                code=VOUCHER_CODE,
                defaults={
                    "agency": agency,
                    "holder": holder,
                    "percent": Decimal("50"),
                    "cap": Decimal("30000.00"),
                    "balance": Decimal("30000.00"),
                    "valid_from": dt.date(today.year - 1, 1, 1),
                    "valid_until": dt.date(today.year + 1, 12, 31),
                    "scheme": schemes["hefei-stb-tongdui"],
                },
            )
            if voucher.scheme_id is None:  # loaded before vouchers had schemes
                voucher.scheme = schemes["hefei-stb-tongdui"]
                voucher.save(update_fields=["scheme"])
            # Expires first, so it is drawn first where its scheme allows (SHMFF).
            InnovationVoucher.objects.get_or_create(
                code=CZ_VOUCHER_CODE,
                defaults={
                    "agency": schemes["changzhou-stb-tongyong"].agency,
                    "holder": holder,
                    "percent": Decimal("40"),
                    "cap": Decimal("20000.00"),
                    "balance": Decimal("20000.00"),
                    "valid_from": dt.date(today.year - 1, 1, 1),
                    "valid_until": dt.date(today.year, 12, 31),
                    "scheme": schemes["changzhou-stb-tongyong"],
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
        .exclude(pk__in=InternalTransfer.objects.values("charge_line__charge_id"))
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
    counts["claims_moved"] = _claims(periods)
    return counts
