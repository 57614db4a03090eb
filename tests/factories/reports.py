"""Past bookings and their audit trail, written directly: the request service refuses past times."""

import datetime as dt

from booking.models import Booking, BookingEvent
from facilities.models import Institution, Instrument, User


def past_booking(
    *,
    instrument: Instrument,
    requester: User,
    institution: Institution,
    start: dt.datetime,
    end: dt.datetime,
    status: str = Booking.Status.COMPLETED,
    actual_start: dt.datetime | None = None,
    actual_end: dt.datetime | None = None,
    cancelled_at: dt.datetime | None = None,
) -> Booking:
    return Booking.objects.create(
        instrument=instrument, requester=requester, institution=institution, start=start, end=end,
        hold_end=end + dt.timedelta(minutes=instrument.buffer_minutes), status=status,
        actual_start=actual_start, actual_end=actual_end, cancelled_at=cancelled_at,
    )


def event(booking: Booking, from_status: str, to_status: str, at: dt.datetime) -> BookingEvent:
    e = BookingEvent.objects.create(booking=booking, from_status=from_status, to_status=to_status)
    BookingEvent.objects.filter(pk=e.pk).update(at=at)  # `at` is stamped on insert; history needs its own time
    return e
