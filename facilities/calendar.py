"""When an instrument cannot be used, from the catalog's point of view: outside operating hours, on
public holidays (for facilities that follow the office calendar) and during closures.

Bookings are not the catalog's business; the booking app adds them on top of these spans.
"""

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache

from django.db.models import Q

from common.intervals import Span, merge
from common.time import local_tz

from .models import Closure, Instrument, OperatingHours

log = logging.getLogger(__name__)


@lru_cache(maxsize=4096)
def office_day(day: dt.date) -> str:
    """'holiday' for a statutory public holiday, 'makeup' for a weekend make-up workday (调休),
    'normal' otherwise. Years the holiday package does not know yet count as 'normal'."""
    try:
        import chinese_calendar

        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        if on_holiday and name is not None:
            return "holiday"
        if day.weekday() >= 5 and chinese_calendar.is_workday(day):
            return "makeup"
    except NotImplementedError:
        pass
    return "normal"


def holiday_name(day: dt.date) -> str | None:
    try:
        import chinese_calendar

        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        return name if on_holiday else None
    except NotImplementedError:
        return None


def _weekly_hours(instruments: Sequence[Instrument]) -> dict[int, dict[int, list[tuple[dt.time, dt.time]]] | None]:
    """instrument id → {weekday: [(opens, closes)]}, or None for round the clock."""
    found = OperatingHours.objects.filter(_facility_or_instrument(instruments)).values_list(
        "facility_id", "instrument_id", "weekday", "opens", "closes"
    )
    by_facility: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    by_instrument: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for facility_id, instrument_id, weekday, opens, closes in found:
        target = by_instrument[instrument_id] if instrument_id else by_facility[facility_id]
        target[weekday].append((opens, closes))
    result: dict[int, dict | None] = {}
    for inst in instruments:
        hours = by_instrument.get(inst.pk) or by_facility.get(inst.facility_id)
        result[inst.pk] = dict(hours) if hours else None
    return result


def _hours_closed(
    hours: dict[int, list[tuple[dt.time, dt.time]]] | None,
    office_calendar: bool,
    start: dt.datetime,
    end: dt.datetime,
) -> list[tuple[dt.datetime, dt.datetime, str]]:
    tz = local_tz()
    if hours is None and not office_calendar:
        return []
    spans: list[tuple[dt.datetime, dt.datetime, str]] = []
    # A make-up workday opens with the hours of the first weekday that has any.
    workday_hours = next((hours[d] for d in range(5) if hours and hours.get(d)), None)
    day = start.astimezone(tz).date()
    last = (end.astimezone(tz) - dt.timedelta(microseconds=1)).date()
    while day <= last:
        day_start = dt.datetime.combine(day, dt.time(0), tz)
        day_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tz)
        kind = office_day(day) if office_calendar else "normal"
        if kind == "holiday":
            spans.append((day_start, day_end, "holiday"))
        else:
            todays: Sequence[tuple[dt.time, dt.time | None]]
            if hours is None:
                todays = [(dt.time(0), None)]
            elif kind == "makeup":
                todays = workday_hours or []
            else:
                todays = hours.get(day.weekday(), [])
            cursor = day_start
            for opens, closes in sorted(todays):
                o = dt.datetime.combine(day, opens, tz)
                c = day_end if closes is None else dt.datetime.combine(day, closes, tz)
                if o > cursor:
                    spans.append((cursor, o, "hours"))
                cursor = max(cursor, c)
            if cursor < day_end:
                spans.append((cursor, day_end, "hours"))
        day += dt.timedelta(days=1)
    return spans


def closed_spans_many(instruments: Sequence[Instrument], start: dt.datetime, end: dt.datetime) -> dict[int, list[Span]]:
    """For each instrument, the merged spans within [start, end) when it cannot be booked for
    catalog reasons. Two queries whatever the number of instruments."""
    if not instruments:
        return {}
    hours = _weekly_hours(instruments)
    closures: dict[int, list[Span]] = defaultdict(list)
    facility_closures: dict[int, list[Span]] = defaultdict(list)
    for facility_id, instrument_id, s, e, _kind, _reason in _closure_rows(instruments, start, end):
        (closures[instrument_id] if instrument_id else facility_closures[facility_id]).append((s, e))
    office = {}
    result: dict[int, list[Span]] = {}
    for inst in instruments:
        if inst.facility_id not in office:
            office[inst.facility_id] = inst.facility.follows_office_calendar
        spans = [(s, e) for s, e, _ in _hours_closed(hours[inst.pk], office[inst.facility_id], start, end)]
        spans += closures.get(inst.pk, []) + facility_closures.get(inst.facility_id, [])
        result[inst.pk] = [(max(s, start), min(e, end)) for s, e in merge(spans) if e > start and s < end]
    return result


def closed_spans(instrument: Instrument, start: dt.datetime, end: dt.datetime) -> list[Span]:
    return closed_spans_many([instrument], start, end)[instrument.pk]


def closure_reasons(instrument: Instrument, start: dt.datetime, end: dt.datetime) -> list[tuple[Span, str]]:
    """Why [start, end) is not bookable, span by span, in words a person understands."""
    reasons: list[tuple[Span, str]] = []
    for s, e, kind in _hours_closed(
        _weekly_hours([instrument])[instrument.pk], instrument.facility.follows_office_calendar, start, end
    ):
        if e > start and s < end:
            if kind == "holiday":
                name = holiday_name(s.date()) or "public holiday"
                reasons.append(((s, e), f"the facility is closed on {s.date():%Y-%m-%d} ({name})"))
            else:
                reasons.append(((s, e), "it is outside the operating hours"))
    kinds = dict(Closure.Kind.choices)
    for _facility_id, _instrument_id, s, e, kind, reason in _closure_rows([instrument], start, end):
        what = reason or str(kinds.get(kind, kind)).lower()
        reasons.append(((s, e), f"of a closure ({what})"))
    return reasons


def _closure_rows(instruments: Sequence[Instrument], start: dt.datetime, end: dt.datetime) -> list[tuple]:
    """(facility_id, instrument_id, start, end, kind, reason) of the closures of these instruments and
    their facilities that overlap [start, end), in order of start."""
    found = Closure.objects.filter(_facility_or_instrument(instruments), start__lt=end, end__gt=start)
    return list(
        found.order_by("start", "id").values_list("facility_id", "instrument_id", "start", "end", "kind", "reason")
    )


def _facility_or_instrument(instruments: Sequence[Instrument]) -> Q:
    """The condition for calendar rows that apply to these instruments: their facilities' own rows
    (no instrument) and the instruments' rows."""
    facility_ids = sorted({i.facility_id for i in instruments})
    return Q(instrument__isnull=True, facility_id__in=facility_ids) | Q(instrument_id__in=[i.pk for i in instruments])
