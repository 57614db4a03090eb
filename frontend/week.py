"""The week calendar of one instrument: cells of the instrument's booking unit (at least 15 minutes), each
free, held by a booking (the viewer's own told apart), closed, or not bookable any more (past, or inside the
lead time); rows of hours the instrument is always closed are left out."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from common.time import local_tz
from facilities.models import Instrument


def week_start(day: dt.date | None) -> dt.datetime:
    """Monday 00:00 (Asia/Shanghai) of the week holding `day` (today when None)."""
    day = day or timezone.localdate()
    monday = day - dt.timedelta(days=day.weekday())
    return dt.datetime.combine(monday, dt.time(0), local_tz())


def parse_week(value: str | None) -> dt.date | None:
    """A date within the years the platform plans for; anything else means "this week"."""
    try:
        day = dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day and 2000 <= day.year <= 2099 else None


def row_minutes(instrument: Instrument) -> int:
    """The calendar's cell: the instrument's booking unit (30-minute instruments get 30-minute cells); a unit
    under a quarter of an hour is grouped into the smallest multiple of it that is at least 15 minutes, so a
    day stays readable. Always divides a day."""
    unit = instrument.booking_unit_minutes
    if unit <= 0 or 1440 % unit:
        return 60  # not a valid unit (Instrument.clean refuses it); draw hours rather than fail
    step = unit
    while step < 15 or 1440 % step:
        step += unit
    return step


def cell_state(start, end, busy, now, earliest, latest) -> str:
    if end <= now:
        return "past"
    if start < earliest:
        return "soon"
    if start > latest:
        return "beyond"
    kinds = {b["kind"] for b in busy if b["start"] < end and b["end"] > start}
    if "closure" in kinds:
        return "closure"
    if "booking" in kinds:
        return "booking"
    return "free"


def open_minutes(hours: dict | None) -> list[tuple[int, int]] | None:
    """Minutes of the day the instrument is open on at least one weekday, from its weekly hours
    (facilities.calendar.weekly_hours); None when it runs round the clock."""
    if hours is None:
        return None
    return [
        (o.hour * 60 + o.minute, c.hour * 60 + c.minute + (1 if c.second or c.microsecond else 0))
        for spans in hours.values()
        for o, c in spans
    ]


def _span_text(start: dt.datetime, end: dt.datetime, column: dt.date) -> str:
    """ "22:00–06:00 (next day)": the times of a block, read from the column where it is drawn."""
    s, e = timezone.localtime(start), timezone.localtime(end)
    last = (e - dt.timedelta(microseconds=1)).date()
    if s.date() < column:  # continues from an earlier day
        if last == column:
            return _("continued, until %(end)s") % {"end": e.strftime("%H:%M")}
        return _("continued, until %(end)s") % {"end": f"{formats.date_format(e, 'D')} {e:%H:%M}"}
    if last == s.date():
        return f"{s:%H:%M}–{e:%H:%M}"
    if last == s.date() + dt.timedelta(days=1):
        return _("%(start)s–%(end)s (next day)") % {"start": s.strftime("%H:%M"), "end": e.strftime("%H:%M")}
    return f"{s:%H:%M}–{formats.date_format(e, 'D')} {e:%H:%M}"


def build_week(
    instrument: Instrument,
    availability: dict,
    start: dt.datetime,
    now: dt.datetime | None = None,
    *,
    mine: list | None = None,
    hours: dict | None = None,
    day: dt.date | None = None,
) -> dict:
    """The week as rows of cells. `mine`: the viewer's own held bookings (booking.selectors.own_held), told
    apart from others' (approved or still waiting for approval); `hours`: the instrument's weekly opening
    hours (facilities.calendar.weekly_hours), whose always-closed rows are left out unless the viewer
    holds a booking in them; `day`: the day a phone shows (the week is one day at a time on a small screen)."""
    now = now or timezone.now()
    tz = local_tz()
    step = row_minutes(instrument)
    earliest = now + dt.timedelta(minutes=instrument.lead_time_minutes)
    latest = now + dt.timedelta(days=instrument.horizon_days)
    days = [(start + dt.timedelta(days=d)).date() for d in range(7)]
    prefill = dt.timedelta(minutes=max(instrument.min_minutes, step))
    busy = availability["busy"]
    mine = mine or []
    opening = open_minutes(hours)

    def row_shown(r: int) -> bool:
        if opening is None:
            return True
        a, b = r * step, (r + 1) * step
        if any(o < b and c > a for o, c in opening):
            return True
        # Always closed by the hours, but the viewer holds a booking in it (made before the hours changed): show it.
        for d in days:
            s = dt.datetime.combine(d, dt.time(0), tz) + dt.timedelta(minutes=a)
            e = s + dt.timedelta(minutes=step)
            if any(x.start < e and x.hold_end > s for x in mine):
                return True
        return False

    shown = [r for r in range(1440 // step) if row_shown(r)]
    if not shown:  # never open at all: show the whole day closed rather than nothing
        shown = list(range(1440 // step))
    today = timezone.localtime(now).date()
    selected = day if day in days else (today if today in days else days[0])
    rows = []
    previous: list[tuple | None] = [None] * 7  # the block each column's previous shown cell belongs to
    for r in shown:
        cells = []
        for n, d in enumerate(days):
            s = dt.datetime.combine(d, dt.time(0), tz) + dt.timedelta(minutes=r * step)
            e = s + dt.timedelta(minutes=step)
            own = next((b for b in mine if b.start < e and b.hold_end > s), None)
            if own is not None:
                state = "booking"
                block: tuple | None = ("own", own.pk)
                span: tuple | None = (own.start, own.end)
            else:
                state = cell_state(s, e, busy, now, earliest, latest)
                hit = (
                    next((x for x in busy if x["kind"] == state and x["start"] < e and x["end"] > s), None)
                    if state in ("booking", "closure")
                    else None
                )
                block = (state, hit["start"]) if hit else None
                span = (hit["start"], hit["end"]) if hit else None
            first = block is None or previous[n] != block
            previous[n] = block
            cells.append(
                {
                    "start": s,
                    "end": e,
                    "book_end": s + prefill,
                    "state": state,
                    # "mine": the viewer's approved booking; "pending": their request waiting for approval.
                    "own": ("mine" if own.status == "approved" else "pending") if own is not None else "",
                    "changeover": own is not None and s >= own.end,
                    "first": first,
                    "text": _span_text(span[0], span[1], d) if span and first and state == "booking" else "",
                    "selected": d == selected,
                }
            )
        label = (dt.datetime.combine(days[0], dt.time(0), tz) + dt.timedelta(minutes=r * step)).strftime("%H:%M")
        rows.append({"label": label, "cells": cells})
    marks = {h["date"]: h for h in availability.get("holidays", [])}
    hidden = _hidden_ranges(shown, step)
    return {
        "days": days,
        # Column heads: the day, and its public holiday or make-up workday (office-calendar facilities).
        "heads": [{"day": d, "mark": marks.get(d), "selected": d == selected} for d in days],
        "provisional": [h for h in availability.get("holidays", []) if h["provisional"]],
        "rows": rows,
        "step": step,
        "hidden": hidden,
        "selected": selected,
        "selected_index": days.index(selected),
        "start": start,
        "end": start + dt.timedelta(days=7),
        "prev": (start - dt.timedelta(days=7)).date(),
        "next": (start + dt.timedelta(days=7)).date(),
    }


def _hidden_ranges(shown: list[int], step: int) -> list[str]:
    """The left-out rows as "00:00–08:00" ranges."""
    out, r, total = [], 0, 1440 // step
    shown_set = set(shown)
    while r < total:
        if r in shown_set:
            r += 1
            continue
        a = r
        while r < total and r not in shown_set:
            r += 1
        out.append(f"{a * step // 60:02d}:{a * step % 60:02d}–{r * step // 60:02d}:{r * step % 60:02d}")
    return out


def largest_remainder(total_fen: int, percents: list[Decimal]) -> list[int]:
    """Shares of `total_fen` in proportion to `percents`, in whole fen, adding up to the total."""
    if not percents:
        return []
    weight = sum(percents)
    if weight <= 0:
        return [0] * len(percents)
    raw = [Decimal(total_fen) * p / weight for p in percents]
    floors = [int(x) for x in raw]
    left = total_fen - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: (raw[i] - floors[i], -i), reverse=True)
    for i in order[:left]:
        floors[i] += 1
    return floors


def estimate(
    rate: Decimal | None, start: dt.datetime | None, end: dt.datetime | None, percents: list[Decimal]
) -> dict | None:
    """Cost at the published hourly rate, and each account's share of it, in yuan."""
    if rate is None or start is None or end is None or end <= start:
        return None
    hours = Decimal((end - start).total_seconds()) / Decimal(3600)
    total = (rate * hours).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    fen = largest_remainder(int(total * 100), percents) if percents and sum(percents) == 100 else []
    return {
        "rate": rate,
        "hours": hours.quantize(Decimal("0.01")).normalize(),
        "total": total,
        "shares": [Decimal(f) / 100 for f in fen],
    }
