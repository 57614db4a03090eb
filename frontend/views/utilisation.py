"""Per-instrument utilisation of a facility for the manager console's chart, from the reports app."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone


def last_month_label(today: dt.date | None = None) -> str:
    today = today or timezone.localdate()
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year}-{first.month:02d}"


def utilisation_for(facility, period_label: str | None = None) -> dict | None:
    """None when the reports app offers no figures on this installation."""
    try:
        from reports.periods import parse_period
        from reports.selectors import facility_report, hours
    except ImportError:
        return None
    period = parse_period(period_label or last_month_label())
    report = facility_report(facility, period)
    rows = []
    # Bars are scaled to the busiest instrument so small shares stay visible; the labels give the true percent.
    top = max([(i.figures.utilisation or Decimal(0)) * 100 for i in report.instruments] + [Decimal(1)])
    for n, item in enumerate(report.instruments):
        f = item.figures
        pct = (f.utilisation or Decimal(0)) * 100
        rows.append(
            {
                "y": 24 * n + 4,
                "ty": 24 * n + 18,
                "code": item.instrument.code,
                "pk": item.instrument.pk,
                "pct": pct.quantize(Decimal("0.1")),
                "width": round(float(pct / top) * 300, 1),
                "used": hours(f.used_minutes),
                "booked": hours(f.booked_minutes),
                "available": hours(f.available_minutes),
                "shared": hours(f.shared_minutes),
                "idle": hours(f.idle_minutes),
            }
        )
    return {
        "period": period.label,
        "rows": rows,
        "height": 24 * len(rows) + 30,
        "total_pct": ((report.totals.utilisation or Decimal(0)) * 100).quantize(Decimal("0.1")),
    }
