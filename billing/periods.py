"""Billing months ("2026-10") in Asia/Shanghai."""

import datetime as dt

from django.utils import timezone

from common.parsing import parse_month
from common.time import local_tz


def parse_period(value: object) -> str:
    """A billing month as the client wrote it, checked: "2026-10"; anything else is a ValidationError."""
    year, month = parse_month(value, "period")
    return f"{year:04d}-{month:02d}"


def period_of(moment: dt.datetime) -> str:
    return timezone.localtime(moment, local_tz()).strftime("%Y-%m")


def period_bounds(period: str) -> tuple[dt.datetime, dt.datetime]:
    year, month = int(period[:4]), int(period[5:])
    tz = local_tz()
    start = dt.datetime(year, month, 1, tzinfo=tz)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
    return start, end


def previous_period(now: dt.datetime | None = None) -> str:
    local = timezone.localtime(now or timezone.now(), local_tz())
    first = local.date().replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


def shift_period(period: str, months: int) -> str:
    year, month = int(period[:4]), int(period[5:])
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
