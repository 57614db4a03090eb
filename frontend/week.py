"""The week calendar of one instrument: cells of the instrument's booking unit (at least an hour),
each free, held by a booking, closed, or not bookable any more (past, or inside the lead time)."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

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
    # Both divide a day, so the larger of the two does too.
    return max(instrument.booking_unit_minutes, 60)


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


def build_week(instrument: Instrument, availability: dict, start: dt.datetime, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    tz = local_tz()
    step = row_minutes(instrument)
    earliest = now + dt.timedelta(minutes=instrument.lead_time_minutes)
    latest = now + dt.timedelta(days=instrument.horizon_days)
    days = [(start + dt.timedelta(days=d)).date() for d in range(7)]
    prefill = dt.timedelta(minutes=max(instrument.min_minutes, step))
    rows = []
    for r in range(1440 // step):
        cells = []
        for day in days:
            s = dt.datetime.combine(day, dt.time(0), tz) + dt.timedelta(minutes=r * step)
            e = s + dt.timedelta(minutes=step)
            cells.append(
                {
                    "start": s,
                    "end": e,
                    "book_end": s + prefill,
                    "state": cell_state(s, e, availability["busy"], now, earliest, latest),
                }
            )
        first = dt.datetime.combine(days[0], dt.time(0), tz) + dt.timedelta(minutes=r * step)
        rows.append({"label": first.strftime("%H:%M"), "cells": cells})
    marks = {h["date"]: h for h in availability.get("holidays", [])}
    return {
        "days": days,
        # Column heads: the day, and its public holiday or make-up workday (office-calendar facilities).
        "heads": [{"day": day, "mark": marks.get(day)} for day in days],
        "provisional": [h for h in availability.get("holidays", []) if h["provisional"]],
        "rows": rows,
        "step": step,
        "start": start,
        "end": start + dt.timedelta(days=7),
        "prev": (start - dt.timedelta(days=7)).date(),
        "next": (start + dt.timedelta(days=7)).date(),
    }


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
