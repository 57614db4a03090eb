"""Revenue by user class, read from billing's charges.

A charge belongs to the month of its booking's start (billing's `Charge.period`); a report period takes
the charges of its months. Revenue is the charge's `amount`: what the payers owe after the host's
subsidy (vouchers included, since the agency pays that part), for usage, no-show and late-cancellation
fees alike. It is not split at period boundaries: money follows billing's months."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum

from billing.models import Charge

from .periods import Period


def months_of(period: Period) -> list[str]:
    months, cursor = [], period.start
    while cursor < period.end:
        months.append(f"{cursor.year}-{cursor.month:02d}")
        cursor = cursor.replace(year=cursor.year + cursor.month // 12, month=cursor.month % 12 + 1)
    return months


def revenue_by_instrument(instrument_ids: list[int], period: Period) -> dict[int, dict[str, Decimal]]:
    """{instrument id: {user class: amount}}, summed in SQL, one query."""
    out: dict[int, dict[str, Decimal]] = defaultdict(dict)
    rows = (
        Charge.objects.filter(instrument_id__in=instrument_ids, period__in=months_of(period))
        .values("instrument_id", "user_class")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("instrument_id", "user_class", "total")
    )
    for pk, user_class, total in rows:
        out[pk][user_class] = Decimal(total).quantize(Decimal("0.01"))
    return out
