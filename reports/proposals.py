"""Figures of calls for proposals: oversubscription and cutoff grade per instrument (and panel), shifts
awarded per institution and per province, and the co-building partners' share of each co-built
instrument's time in the cycle against the share they are owed (from facilities.TimeShare).

One definition each: oversubscription and cutoff are the proposals app's ranking
(`proposals.selectors.ranking`); a partner's booked and used hours are the sharing report's (`reports.sums.
booked_by_institution`, `usage.selectors.use_in_period`), over the call's cycle. The call's own report
(`/api/v1/reports/calls/{id}/`) and the facility's sharing report (`beamtime`, and its XLSX) both show
`call_figures`."""

import datetime as dt
import io
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Sum
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from common.time import local_tz
from facilities.models import Facility, TimeShare
from proposals.models import SHIFT, Call, ShiftRequest
from proposals.selectors import ranking
from usage.selectors import use_in_period

from .exports import write_call_sheets
from .periods import Period
from .selectors import hours
from .sums import booked_by_institution, longest_booking

Q2 = Decimal("0.01")


def _dec(value) -> str | None:
    return None if value is None else str(value)


def cycle_period(call: Call) -> Period:
    """The call's cycle as a reporting span: [cycle start 00:00, the day after the cycle's end 00:00)."""
    tz = local_tz()
    start = dt.datetime.combine(call.cycle_start, dt.time(0), tz)
    end = dt.datetime.combine(call.cycle_end + dt.timedelta(days=1), dt.time(0), tz)
    return Period(f"{call.facility.code} {call.code}", "cycle", start, end)


def calls_in_period(facility: Facility, period: Period) -> list[Call]:
    """The facility's calls whose cycle overlaps the period, earliest cycle first."""
    tz = local_tz()
    first = period.start.astimezone(tz).date()
    last = (period.end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    return list(
        Call.objects.filter(facility=facility, cycle_start__lte=last, cycle_end__gte=first)
        .select_related("facility")
        .order_by("cycle_start", "code")
    )


def beamtime_figures(facility: Facility, period: Period) -> list[dict]:
    """`call_figures` of each call whose cycle overlaps the period: the sharing report's `beamtime`."""
    return [call_figures(call) for call in calls_in_period(facility, period)]


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
        "call": {
            "id": call.pk,
            "facility": call.facility.code,
            "code": call.code,
            "title": call.title,
            "title_zh": call.title_zh,
            "cycle_start": call.cycle_start.isoformat(),
            "cycle_end": call.cycle_end.isoformat(),
        },
        "instruments": instruments,
        "awarded_by_institution": by_institution,
        "awarded_by_province": [{"province": p, "shifts_awarded": n} for p, n in sorted(provinces.items())],
        "partner_shares": partner_compliance(call),
    }


def partner_compliance(call: Call) -> list[dict]:
    """Per co-built instrument offered in the call and partner: the partner's booked hours in the cycle
    (bookings and sessions that are requested, approved, completed or no-show, clipped to the cycle: the
    sharing report's `booked_hours`) as a percent of the offered time (shifts × 8 h), against its share
    (`met`); and its used hours (the sharing report's `used_hours`, from recorded use)."""
    period = cycle_period(call)
    offers = list(call.offers.select_related("instrument"))
    ids = [o.instrument_id for o in offers]
    booked: dict[tuple[int, int], int] = defaultdict(int)
    for instrument_id, institution_id, minutes, _n in booked_by_institution(
        ids, period, longest_booking([o.instrument for o in offers])
    ):
        booked[(instrument_id, institution_id)] += minutes
    used: dict[tuple[int, int | None], int] = defaultdict(int)
    for row in use_in_period(instrument_ids=ids, start=period.start, end=period.end):
        used[(row.instrument_id, row.institution_id)] += row.minutes
    shares = TimeShare.objects.filter(instrument_id__in=ids).select_related("institution").order_by("institution__code")
    by_instrument: dict[int, list[TimeShare]] = defaultdict(list)
    for share in shares:
        by_instrument[share.instrument_id].append(share)
    out = []
    for offer in offers:
        offered_minutes = offer.shifts_available * int(SHIFT.total_seconds() // 60)
        for share in by_instrument.get(offer.instrument_id, []):
            minutes = booked[(offer.instrument_id, share.institution_id)]
            actual = (
                (Decimal(minutes) * 100 / offered_minutes).quantize(Q2, ROUND_HALF_UP)
                if offered_minutes
                else Decimal("0.00")
            )
            out.append(
                {
                    "instrument": offer.instrument.code,
                    "partner": share.institution.code,
                    "share_percent": str(share.percent),
                    "hours": str(hours(minutes)),
                    "used_hours": str(hours(used[(offer.instrument_id, share.institution_id)])),
                    "actual_percent": str(actual),
                    "met": actual >= share.percent,
                }
            )
    return out


def call_xlsx(figures: dict) -> bytes:
    wb = Workbook()
    first = wb.active
    assert isinstance(first, Worksheet)
    wb.remove(first)
    write_call_sheets(wb, [figures])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
