"""Reporting periods: a calendar month ("2026-10"), quarter ("2026-Q3") or year ("2026"), as half-open
intervals [start, end) of local time (Asia/Shanghai)."""

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from common.time import local_tz

# ASCII digits only: \d alone would also match "２０２６" or "٢٠٢٦" (common.parsing.ascii_digits).
_YEAR = re.compile(r"^(\d{4})$", re.ASCII)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$", re.ASCII)
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$", re.ASCII)
FIRST_YEAR, LAST_YEAR = 2000, 2099


@dataclass(frozen=True)
class Period:
    label: str
    kind: str  # "month" | "quarter" | "year"
    start: dt.datetime
    end: dt.datetime

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


def _month_start(year: int, month: int) -> dt.datetime:
    return dt.datetime(year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=local_tz())


def parse_period(text: str | None) -> Period:
    """Parse "2026", "2026-10" or "2026-Q3"; anything else is a ValidationError that says what is expected."""
    value = (text or "").strip()
    if not value:
        raise ValidationError({"period": _("Name a period: a month (2026-10), a quarter (2026-Q3) or a year (2026).")})
    year = month_from = months = None
    kind = ""
    if m := _YEAR.match(value):
        year, month_from, months, kind = int(m[1]), 1, 12, "year"
        label = f"{year}"
    elif m := _QUARTER.match(value):
        year, quarter = int(m[1]), int(m[2])
        month_from, months, kind = 3 * quarter - 2, 3, "quarter"
        label = f"{year}-Q{quarter}"
    elif m := _MONTH.match(value):
        year, month_from, months, kind = int(m[1]), int(m[2]), 1, "month"
        if not 1 <= month_from <= 12:
            raise ValidationError({"period": _("%(value)s: a month is 01 to 12.") % {"value": repr(value)}})
        label = f"{year}-{month_from:02d}"
    else:
        raise ValidationError(
            {
                "period": _("%(value)s is not a period; use a month (2026-10), a quarter (2026-Q3) or a year (2026).")
                % {"value": repr(value)}
            }
        )
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationError(
            {
                "period": _("%(value)s: reports cover the years %(first_year)s to %(last_year)s.")
                % {"value": repr(value), "first_year": FIRST_YEAR, "last_year": LAST_YEAR}
            }
        )
    return Period(label, kind, _month_start(year, month_from), _month_start(year, month_from + months))


def months_of(period: Period) -> list[Period]:
    """The calendar months that make up a period, in order (for monthly charts of a quarter or a year)."""
    out, cursor = [], period.start
    while cursor < period.end:
        out.append(parse_period(f"{cursor.year}-{cursor.month:02d}"))
        cursor = out[-1].end
    return out


def recent_months(count: int, *, now: dt.datetime | None = None) -> list[Period]:
    """The last `count` whole months before the current one, oldest first."""
    from django.utils import timezone

    local = (now or timezone.now()).astimezone(local_tz())
    current = local.year * 12 + local.month - 1  # months since January of year 0
    return [parse_period(f"{m // 12}-{m % 12 + 1:02d}") for m in range(current - count, current)]
