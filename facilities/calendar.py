"""When an instrument cannot be used, from the catalog's point of view: outside operating hours, on
public holidays (for facilities that follow the office calendar) and during closures.

Bookings are not the catalog's business; the booking app adds them on top of these spans.
"""

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence

from django.db.models import Q
from django.utils.translation import gettext

from common.intervals import Span, merge
from common.time import local_tz

from .holidays import NORMAL, OfficeDay, office_days
from .models import Closure, Festival, Instrument, OperatingHours

log = logging.getLogger(__name__)


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


def weekly_hours(instrument: Instrument) -> dict[int, list[tuple[dt.time, dt.time]]] | None:
    """The instrument's opening hours, {weekday: [(opens, closes)]} (its own rows, else its facility's),
    or None when it runs round the clock. One query."""
    return _weekly_hours([instrument])[instrument.pk]


def _local_days(start: dt.datetime, end: dt.datetime) -> tuple[dt.date, dt.date]:
    """The first and last local dates that [start, end) touches."""
    tz = local_tz()
    return start.astimezone(tz).date(), (end.astimezone(tz) - dt.timedelta(microseconds=1)).date()


def _office_days(office_calendar: bool, start: dt.datetime, end: dt.datetime) -> dict[dt.date, OfficeDay]:
    return office_days(*_local_days(start, end)) if office_calendar else {}


def _hours_closed(
    hours: dict[int, list[tuple[dt.time, dt.time]]] | None,
    days: dict[dt.date, OfficeDay] | None,
    start: dt.datetime,
    end: dt.datetime,
) -> list[tuple[dt.datetime, dt.datetime, str]]:
    """Spans closed by the weekly hours and, when `days` is given (an office-calendar facility: the
    output of `office_days` over the window), by public holidays; each labelled 'hours' or 'holiday'."""
    tz = local_tz()
    if hours is None and days is None:
        return []
    spans: list[tuple[dt.datetime, dt.datetime, str]] = []
    # A make-up workday opens with the hours of the first weekday that has any.
    workday_hours = next((hours[d] for d in range(5) if hours and hours.get(d)), None)
    day, last = _local_days(start, end)
    while day <= last:
        day_start = dt.datetime.combine(day, dt.time(0), tz)
        day_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tz)
        kind = (days or {}).get(day, NORMAL).kind
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
    # Public holidays are read once for the window, and only if some facility follows the office calendar.
    office = any(inst.facility.follows_office_calendar for inst in instruments)
    days = _office_days(office, start, end)
    result: dict[int, list[Span]] = {}
    for inst in instruments:
        todays = days if inst.facility.follows_office_calendar else None
        spans = [(s, e) for s, e, _ in _hours_closed(hours[inst.pk], todays, start, end)]
        spans += closures.get(inst.pk, []) + facility_closures.get(inst.facility_id, [])
        result[inst.pk] = [(max(s, start), min(e, end)) for s, e in merge(spans) if e > start and s < end]
    return result


def closed_spans(instrument: Instrument, start: dt.datetime, end: dt.datetime) -> list[Span]:
    return closed_spans_many([instrument], start, end)[instrument.pk]


def closure_causes(instrument: Instrument, start: dt.datetime, end: dt.datetime) -> list[tuple[Span, dict]]:
    """Why [start, end) is not bookable, span by span, as data that `describe_cause` puts in words in any
    language: `{"kind": "hours"}`; `{"kind": "holiday", "date": "YYYY-MM-DD", "festival": code or None,
    "provisional": bool}`; `{"kind": "closure", "closure_kind": kind, "text": the closure's own reason}`."""
    causes: list[tuple[Span, dict]] = []
    office = instrument.facility.follows_office_calendar
    days = _office_days(office, start, end) if office else None
    for s, e, kind in _hours_closed(_weekly_hours([instrument])[instrument.pk], days, start, end):
        if e > start and s < end:
            if kind == "holiday":
                day = s.astimezone(local_tz()).date()
                info = (days or {}).get(day, NORMAL)
                cause = {"kind": "holiday", "date": day.isoformat(), "festival": info.festival}
                causes.append(((s, e), cause | {"provisional": info.provisional}))
            else:
                causes.append(((s, e), {"kind": "hours"}))
    for _facility_id, _instrument_id, s, e, kind, reason in _closure_rows([instrument], start, end):
        causes.append(((s, e), {"kind": "closure", "closure_kind": kind, "text": reason or ""}))
    return causes


def describe_cause(cause: dict) -> str:
    """A cause of `closure_causes` in words, in the active language, to follow "because" (the facility's
    own reason for a closure stays as its manager wrote it). Unknown kinds show their `text`."""
    kind = cause.get("kind")
    if kind == "hours":
        return gettext("it is outside the operating hours")
    if kind == "holiday":
        festival = cause.get("festival")
        info = OfficeDay("holiday", festival if festival in Festival.values else None, bool(cause.get("provisional")))
        what = info.describe() if info.festival else gettext("public holiday")
        return gettext("the facility is closed on %(date)s (%(what)s)") % {"date": cause.get("date", ""), "what": what}
    if kind == "closure":
        kinds = dict(Closure.Kind.choices)
        what = cause.get("text") or str(kinds.get(cause.get("closure_kind", ""), gettext("closure"))).lower()
        return gettext("of a closure (%(what)s)") % {"what": what}
    return str(cause.get("text", ""))


def closure_reasons(instrument: Instrument, start: dt.datetime, end: dt.datetime) -> list[tuple[Span, str]]:
    """Why [start, end) is not bookable, span by span, in words of the active language (the rule messages
    of booking/rules.py are translated)."""
    return [(span, describe_cause(cause)) for span, cause in closure_causes(instrument, start, end)]


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


def public_holidays(instrument: Instrument, start: dt.datetime, end: dt.datetime) -> list[dict]:
    """The public holidays and make-up workdays that shape the instrument's calendar within [start, end):
    `{"date", "kind" ('holiday' | 'makeup'), "festival", "name", "provisional"}` in date order; empty for
    a facility that does not follow the office calendar."""
    if not instrument.facility.follows_office_calendar:
        return []
    return [
        {"date": day, "kind": info.kind, "festival": info.festival, "name": info.name, "provisional": info.provisional}
        for day, info in office_days(*_local_days(start, end)).items()
    ]
