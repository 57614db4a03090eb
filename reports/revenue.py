"""Revenue by user class, read from billing's charges."""

from collections import defaultdict
from decimal import Decimal

from django.apps import apps

from .periods import Period


def revenue_by_instrument(instrument_ids: list[int], period: Period) -> dict[int, dict[str, Decimal]]:
    """{instrument id: {user class: amount}} for charges of bookings that start in the period."""
    try:
        Charge = apps.get_model("billing", "Charge")
    except LookupError:
        return {}
    out: dict[int, dict[str, Decimal]] = defaultdict(dict)
    rows = Charge.objects.filter(
        booking__instrument_id__in=instrument_ids,
        booking__start__gte=period.start,
        booking__start__lt=period.end,
    ).values_list("booking__instrument_id", "user_class", "amount")
    for pk, user_class, amount in rows:
        out[pk][user_class] = out[pk].get(user_class, Decimal("0.00")) + amount
    return out
