"""The booking layer's answer to facilities' `calendar_changed` (connected in BookingConfig.ready).

Sent after the calendar change committed. Flagging the held bookings it put in closed time is a task
(in-process on the embedded default, a worker's with Redis), so a large change (a year's holidays) does
not hold up the request that made it. Nothing here may raise: the change has happened.
"""

from django.dispatch import receiver

from facilities.signals import calendar_changed

from .notifications.receivers import enqueue


@receiver(calendar_changed, dispatch_uid="booking_flags_on_calendar_changed")
def on_calendar_changed(sender, instrument_ids, start, end, reason="", **kwargs) -> None:
    from .tasks import flag_calendar_change

    enqueue(
        flag_calendar_change,
        instrument_ids=sorted(instrument_ids),
        start=start.isoformat(),
        end=end.isoformat(),
        cause=reason,
    )
