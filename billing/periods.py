"""Billing months ("2026-10") in Asia/Shanghai."""

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.utils import timezone

from common.time import local_tz

PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_period(value: object) -> str:
    if not isinstance(value, str) or not PERIOD_RE.match(value.strip()):
        raise ValidationError({"period": f"Give the month as YYYY-MM, e.g. 2026-10; got {value!r}."})
    return value.strip()


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
