"""Joint search: when could several instruments all be booked at once for a given duration?

For each instrument the valid *start* times of a booking of `duration` form a set of ranges: the
booking itself must miss every closed span (operating hours, holidays, closures), the booking plus the
instrument's changeover buffer must miss every held span (others' bookings, their buffers included),
the start must respect lead time and horizon and fall on the instrument's booking unit. Intersecting
those ranges over all instruments and keeping starts on the common unit gives the joint starts; each
range of joint starts [a, b] is reported as the window [a, b + duration).

Everything is whole minutes counted from local midnight of the window's first day (Asia/Shanghai has
no daylight saving, so every day is 1,440 minutes and units that divide a day align the same way on
every day). Three queries load everything, whatever the number of instruments.
"""

import datetime as dt
import math
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from common.intervals import Span, complement, intersect
from common.time import local_tz
from facilities.calendar import closed_spans_many
from facilities.models import Facility, Instrument

from .rules import _fmt_minutes
from .selectors import held_spans_many

MAX_INSTRUMENTS = 500
MAX_WINDOW_DAYS = 92
MINUTE = dt.timedelta(minutes=1)

IntRange = tuple[int, int]  # half-open [a, b) in minutes


def bookable_instruments(instrument_ids: Sequence[int]) -> list[Instrument]:
    """The instruments, in the order asked; a 400 naming every id that is unknown or not bookable."""
    if len(instrument_ids) > MAX_INSTRUMENTS:
        raise ValidationError(
            {
                "instruments": _("At most %(max_instruments)s instruments may be searched together.")
                % {"max_instruments": MAX_INSTRUMENTS}
            }
        )
    found = {
        i.pk: i
        for i in Instrument.objects.select_related("facility").filter(
            pk__in=instrument_ids, active=True, facility__status=Facility.Status.OPERATING
        )
    }
    missing = [str(pk) for pk in instrument_ids if pk not in found]
    if missing:
        raise ValidationError(
            {"instruments": _("No bookable instrument has the id %(value)s.") % {"value": ", ".join(missing[:20])}}
        )
    return [found[pk] for pk in instrument_ids]


def check_duration(instruments: Sequence[Instrument], duration: int) -> None:
    unsuited = []
    for inst in instruments:
        if not inst.min_minutes <= duration <= inst.max_minutes or duration % inst.booking_unit_minutes:
            unsuited.append(
                _("%(code)s takes bookings of %(min)s to %(max)s in blocks of %(unit)s")
                % {
                    "code": inst.code,
                    "min": _fmt_minutes(inst.min_minutes),
                    "max": _fmt_minutes(inst.max_minutes),
                    "unit": _fmt_minutes(inst.booking_unit_minutes),
                }
            )
    if unsuited:
        raise ValidationError(
            {
                "duration_minutes": (
                    _("A booking of %(fmt_minutes)s does not suit every instrument: ")
                    % {"fmt_minutes": _fmt_minutes(duration)}
                )
                + "; ".join(unsuited[:10])
                + "."
            }
        )


def check_window(start: dt.datetime, end: dt.datetime) -> None:
    if end <= start:
        raise ValidationError({"end": _("The end must be after the start.")})
    if end - start > dt.timedelta(days=MAX_WINDOW_DAYS):
        raise ValidationError(
            {
                "end": _("A joint search covers at most %(max_window_days)s days; narrow the window.")
                % {"max_window_days": MAX_WINDOW_DAYS}
            }
        )


def _start_ranges(
    inst: Instrument,
    d: int,
    *,
    closed: list[Span],
    held: list[Span],
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    base: dt.datetime,
) -> list[IntRange]:
    """The valid starts (minutes from `base`) of a booking of `d` minutes on one instrument within
    [start, end): clear of closed spans, clear of held spans with the changeover buffer, inside lead time
    and horizon. Not yet on the booking unit: callers round to it."""

    def floor_min(moment: dt.datetime) -> int:
        return (moment - base) // MINUTE

    def ceil_min(moment: dt.datetime) -> int:
        return -((base - moment) // MINUTE)

    lo = ceil_min(max(start, now + dt.timedelta(minutes=inst.lead_time_minutes)))
    # The latest start: the booking must end by `end`, and may start at most on the horizon.
    hi = min(floor_min(end) - d, floor_min(now + dt.timedelta(days=inst.horizon_days)))
    if lo > hi:
        return []
    fits_open = [(ceil_min(s), floor_min(e) - d + 1) for s, e in complement(closed, start, end)]
    buffer_end = end + dt.timedelta(minutes=inst.buffer_minutes)
    fits_held = [
        (ceil_min(s), floor_min(e) - d - inst.buffer_minutes + 1) for s, e in complement(held, start, buffer_end)
    ]
    starts = intersect([r for r in fits_open if r[0] < r[1]], [r for r in fits_held if r[0] < r[1]])
    return intersect(starts, [(lo, hi + 1)])


def _local_midnight(moment: dt.datetime) -> dt.datetime:
    return dt.datetime.combine(moment.astimezone(local_tz()).date(), dt.time(0), local_tz())


def joint_windows(
    *, instruments: Sequence[Instrument], duration_minutes: int, start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> list[Span]:
    """Windows within [start, end) where every instrument can be booked for `duration_minutes`, each
    window being exactly the span covered by the valid joint bookings it stands for."""
    check_window(start, end)
    check_duration(instruments, duration_minutes)
    if not instruments:
        return []
    base = _local_midnight(start)
    d = duration_minutes
    max_buffer = max(i.buffer_minutes for i in instruments)
    closed = closed_spans_many(instruments, start, end)
    held = held_spans_many([i.pk for i in instruments], start, end + dt.timedelta(minutes=max_buffer))

    joint: list[IntRange] | None = None
    for inst in instruments:
        starts = _start_ranges(
            inst, d, closed=closed[inst.pk], held=held[inst.pk], start=start, end=end, now=now, base=base
        )
        joint = starts if joint is None else intersect(joint, starts)
        if not joint:
            return []
    unit = math.lcm(*(i.booking_unit_minutes for i in instruments))
    windows: list[Span] = []
    for a, b in joint or []:
        first = -(-a // unit) * unit
        last = ((b - 1) // unit) * unit
        if first <= last:
            windows.append((base + first * MINUTE, base + (last + d) * MINUTE))
    return windows


def windows_bookable_by(
    *,
    requester,
    instruments: Sequence[Instrument],
    windows: Sequence[Span],
    duration_minutes: int,
    now: dt.datetime,
    limit: int | None = None,
) -> tuple[list[Span], list[str]]:
    """Of the free `windows`, those `requester` may book, by the rule functions a booking runs
    (booking.rules, services.quotas, services.time_shares): their qualification and their limit of
    upcoming bookings on each instrument (one failing leaves no window at all), then their research
    group's hour limits and their institution's time share, checked for a booking at each window's
    earliest start. Returns the windows kept (at most `limit`; the rest are not checked) and, in
    words, each distinct reason that removed any."""
    from django.db.models import Q

    from facilities.models import GroupHourLimit, TimeShare

    from .rules import check_qualification
    from .services.quotas import check_future_limit, check_group_limits
    from .services.requests import requester_institution
    from .services.time_shares import check_time_share

    reasons: list[str] = []

    def note(exc: ValidationError) -> None:
        for text in exc.messages:
            if text not in reasons:
                reasons.append(text)

    institution = requester_institution(requester)
    for instrument in instruments:
        try:
            check_qualification(instrument=instrument, requester=requester)
            check_future_limit(instrument=instrument, requester=requester, now=now)
        except ValidationError as exc:
            note(exc)
    if reasons:
        return [], reasons
    ids = [i.pk for i in instruments]
    # Only instruments with a group limit of the requester's or a time share need a look per window.
    limited = set(
        GroupHourLimit.objects.filter(instrument_id__in=ids)
        .filter(Q(group__leader=requester) | Q(group__members__user=requester))
        .values_list("instrument_id", flat=True)
    )
    shared = set(TimeShare.objects.filter(instrument_id__in=ids).values_list("instrument_id", flat=True))
    if not limited and not shared:
        return list(windows[:limit] if limit is not None else windows), reasons
    kept: list[Span] = []
    for start, end in windows:
        if limit is not None and len(kept) >= limit:
            break
        finish = start + dt.timedelta(minutes=duration_minutes)
        try:
            for instrument in instruments:
                if instrument.pk in limited:
                    check_group_limits(instrument=instrument, requester=requester, start=start, end=finish)
                if instrument.pk in shared:
                    check_time_share(instrument=instrument, institution=institution, start=start, end=finish)
        except ValidationError as exc:
            note(exc)
            continue
        kept.append((start, end))
    return kept, reasons


NEXT_FREE_DAYS = 14


def next_free_starts(
    instruments: Sequence[Instrument], *, now: dt.datetime, days: int = NEXT_FREE_DAYS
) -> dict[int, dt.datetime | None]:
    """Each instrument's next free slot: the earliest start within `days` from `now` of a booking of its
    shortest duration that the calendar and the instrument's rules allow (the same valid starts as the
    joint search of one instrument), or None (none in that time, or not open for booking). Four queries
    at most, whatever the number of instruments; instruments need their facility loaded."""
    from .rules import open_for_booking

    found: dict[int, dt.datetime | None] = {i.pk: None for i in instruments}
    bookable = [i for i in instruments if open_for_booking(i)]
    if not bookable:
        return found
    start, end = now, now + dt.timedelta(days=days)
    base = _local_midnight(start)
    max_buffer = max(i.buffer_minutes for i in bookable)
    closed = closed_spans_many(bookable, start, end)
    held = held_spans_many([i.pk for i in bookable], start, end + dt.timedelta(minutes=max_buffer))
    for inst in bookable:
        unit = inst.booking_unit_minutes
        ranges = _start_ranges(
            inst, inst.min_minutes, closed=closed[inst.pk], held=held[inst.pk], start=start, end=end, now=now, base=base
        )
        for a, b in ranges:
            first = -(-a // unit) * unit
            if first < b:
                found[inst.pk] = base + first * MINUTE
                break
    return found
