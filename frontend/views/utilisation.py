"""Per-instrument utilisation of a facility for the manager console's chart, from the reports app.

Every bar is drawn on the same 0–100 % axis (the share of the instrument's open hours it was used), so
bars compare across instruments and periods. A period that has not ended yet is counted up to now (a
year's figures cover the months that have passed, not twelve), and one that has not begun is refused."""

import dataclasses
import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from common.time import local_tz

BAR_X, BAR_WIDTH = 150, 300  # where the axis starts and how long 100 % is, in SVG units
TICKS = (0, 25, 50, 75, 100)


def last_month_label(today: dt.date | None = None) -> str:
    today = today or timezone.localdate()
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year}-{first.month:02d}"


def period_choices(now: dt.datetime | None = None) -> dict[str, list[str]]:
    """What the period picker offers: the last 13 months, the last 5 quarters and the last 3 years,
    newest first, each including the current one."""
    local = (now or timezone.now()).astimezone(local_tz())
    index = local.year * 12 + local.month - 1
    months = [f"{m // 12}-{m % 12 + 1:02d}" for m in range(index, index - 13, -1)]
    q_index = local.year * 4 + (local.month - 1) // 3
    quarters = [f"{q // 4}-Q{q % 4 + 1}" for q in range(q_index, q_index - 5, -1)]
    years = [str(y) for y in range(local.year, local.year - 3, -1)]
    return {"months": months, "quarters": quarters, "years": years}


def utilisation_for(facility, period_label: str | None = None, *, now: dt.datetime | None = None) -> dict | None:
    """None when the reports app offers no figures on this installation."""
    try:
        from reports.periods import parse_period
        from reports.selectors import facility_report, hours
    except ImportError:
        return None
    now = now or timezone.now()
    period = parse_period(period_label or last_month_label(now.astimezone(local_tz()).date()))
    if period.start >= now:
        raise ValidationError({"period": _("%(p)s has not begun yet; pick a period that has.") % {"p": period.label}})
    until = None
    if period.end > now:
        until = now
        period = dataclasses.replace(period, end=now)
    report = facility_report(facility, period)
    rows = []
    for n, item in enumerate(report.instruments):
        f = item.figures
        pct = (f.utilisation or Decimal(0)) * 100
        width = round(min(float(pct), 100.0) / 100 * BAR_WIDTH, 1)
        rows.append(
            {
                "y": 24 * n + 4,
                "ty": 24 * n + 18,
                "code": item.instrument.code,
                "pk": item.instrument.pk,
                "pct": pct.quantize(Decimal("0.1")),
                "width": width,
                "label_x": round(BAR_X + width + 5, 1),
                "used": hours(f.used_minutes),
                "booked": hours(f.booked_minutes),
                "available": hours(f.available_minutes),
                "shared": hours(f.shared_minutes),
                "idle": hours(f.idle_minutes),
            }
        )
    axis_y = 24 * len(rows) + 6
    return {
        "period": period.label,
        "until": until,
        "rows": rows,
        "axis_y": axis_y,
        "ticks": [{"x": BAR_X + BAR_WIDTH * t // 100, "label": t} for t in TICKS],
        "tick_label_y": axis_y + 16,
        "title_y": axis_y + 34,
        "axis_end": BAR_X + BAR_WIDTH,
        "height": axis_y + 42,
        "total_pct": ((report.totals.utilisation or Decimal(0)) * 100).quantize(Decimal("0.1")),
        "choices": period_choices(now),
    }
