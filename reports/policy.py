"""The late-cancellation window of each instrument, as billing decides it (ChargePolicy.late_cancel_hours,
24 h for an instrument without a policy), so the report counts exactly the cancellations billing charges
as late: those made at or after start − window."""

import datetime as dt

from billing.models import ChargePolicy

DEFAULT_HOURS = ChargePolicy._meta.get_field("late_cancel_hours").default


def late_cancellation_windows(instrument_ids: list[int]) -> dict[int, dt.timedelta]:
    """{instrument id: window}, one query."""
    hours = dict.fromkeys(instrument_ids, DEFAULT_HOURS)
    hours.update(
        ChargePolicy.objects.filter(instrument_id__in=instrument_ids).values_list("instrument_id", "late_cancel_hours")
    )
    return {pk: dt.timedelta(hours=h) for pk, h in hours.items()}
