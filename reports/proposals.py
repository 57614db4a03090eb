"""Figures of one call for proposals: oversubscription and cutoff grade per instrument, shifts awarded
per institution and per province, and the co-building partners' share of each co-built instrument's
time in the cycle against the share they are owed (from facilities.TimeShare)."""

import datetime as dt
import io
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Sum
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from booking.models import Booking
from common.time import local_tz
from facilities.models import TimeShare
from proposals.models import Call, ShiftRequest
from proposals.selectors import ranking

from .exports import heading

HOLDING_OR_USED = (Booking.Status.REQUESTED, Booking.Status.APPROVED, Booking.Status.COMPLETED)
Q2 = Decimal("0.01")


def _dec(value) -> str | None:
    return None if value is None else str(value)


def call_figures(call: Call) -> dict:
    instruments = []
    for r in ranking(call):
        instruments.append(
            {
                "instrument": r.instrument_code,
                "panel": r.panel,
                "shifts_available": r.available,
                "panel_shifts": r.panel_shifts,
                "requested": r.requested,
                "oversubscription": _dec(r.oversubscription),
                "cutoff_grade": _dec(r.cutoff_grade),
            }
        )
    awarded = (
        ShiftRequest.objects.filter(proposal__call=call, shifts_awarded__gt=0)
        .values("proposal__institution__code", "proposal__institution__province")
        .annotate(shifts=Sum("shifts_awarded"))
        .order_by("proposal__institution__code")
    )
    by_institution = [
        {"institution": row["proposal__institution__code"], "shifts_awarded": row["shifts"]} for row in awarded
    ]
    provinces: dict[str, int] = defaultdict(int)
    for row in awarded:
        provinces[row["proposal__institution__province"] or "other"] += row["shifts"]
    return {
        "call": {"id": call.pk, "facility": call.facility.code, "code": call.code, "title": call.title},
        "instruments": instruments,
        "awarded_by_institution": by_institution,
        "awarded_by_province": [{"province": p, "shifts_awarded": n} for p, n in sorted(provinces.items())],
        "partner_shares": partner_compliance(call),
    }


def partner_compliance(call: Call) -> list[dict]:
    """Per co-built instrument offered in the call and partner: the percent of the cycle's offered time
    (shifts × 8 h) the partner's bookings and sessions hold or used, against its share."""
    tz = local_tz()
    start = dt.datetime.combine(call.cycle_start, dt.time(0), tz)
    end = dt.datetime.combine(call.cycle_end + dt.timedelta(days=1), dt.time(0), tz)
    out = []
    for offer in call.offers.select_related("instrument"):
        shares = list(TimeShare.objects.filter(instrument=offer.instrument).select_related("institution"))
        offered_hours = Decimal(offer.shifts_available * 8)
        for share in shares:
            bookings = Booking.objects.filter(
                instrument=offer.instrument,
                institution=share.institution,
                status__in=HOLDING_OR_USED,
                start__lt=end,
                end__gt=start,
            ).values_list("start", "end")
            hours = sum(
                (Decimal((min(e, end) - max(s, start)).total_seconds()) / 3600 for s, e in bookings), Decimal("0")
            )
            actual = (hours * 100 / offered_hours).quantize(Q2, ROUND_HALF_UP) if offered_hours else Decimal("0")
            out.append(
                {
                    "instrument": offer.instrument.code,
                    "partner": share.institution.code,
                    "share_percent": str(share.percent),
                    "hours": str(hours.quantize(Q2)),
                    "actual_percent": str(actual),
                    "met": actual >= share.percent,
                }
            )
    return out


def call_xlsx(figures: dict) -> bytes:
    wb = Workbook()
    sheet = wb.active
    assert isinstance(sheet, Worksheet)
    sheet.title = "Instruments 仪器"
    sheet.append(
        [
            heading("Instrument", "仪器"),
            heading("Panel", "评审组"),
            heading("Shifts available", "可用班次"),
            heading("Panel shifts", "评审分配班次"),
            heading("Shifts requested", "申请班次"),
            heading("Oversubscription", "超额申请倍数"),
            heading("Cutoff grade", "分数线"),
        ]
    )
    for row in figures["instruments"]:
        sheet.append(
            [
                row["instrument"],
                row["panel"],
                row["shifts_available"],
                row["panel_shifts"],
                row["requested"],
                float(row["oversubscription"]) if row["oversubscription"] else None,
                float(row["cutoff_grade"]) if row["cutoff_grade"] else None,
            ]
        )
    inst = wb.create_sheet("Institutions 单位")
    inst.append([heading("Institution", "单位"), heading("Shifts awarded", "批准班次")])
    for row in figures["awarded_by_institution"]:
        inst.append([row["institution"], row["shifts_awarded"]])
    prov = wb.create_sheet("Provinces 省市")
    prov.append([heading("Province", "省市"), heading("Shifts awarded", "批准班次")])
    for row in figures["awarded_by_province"]:
        prov.append([row["province"], row["shifts_awarded"]])
    part = wb.create_sheet("Partner shares 共建份额")
    part.append(
        [
            heading("Instrument", "仪器"),
            heading("Partner", "共建单位"),
            heading("Share %", "份额 %"),
            heading("Hours", "机时"),
            heading("Actual %", "实际 %"),
            heading("Met", "达标"),
        ]
    )
    for row in figures["partner_shares"]:
        part.append(
            [
                row["instrument"],
                row["partner"],
                float(row["share_percent"]),
                float(row["hours"]),
                float(row["actual_percent"]),
                "yes 是" if row["met"] else "no 否",
            ]
        )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
