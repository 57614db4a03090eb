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
        instrument=instrument,
        requester=requester,
        institution=institution,
        start=start,
        end=end,
        hold_end=end + dt.timedelta(minutes=instrument.buffer_minutes),
        status=status,
        actual_start=actual_start,
        actual_end=actual_end,
        cancelled_at=cancelled_at,
    )


def event(booking: Booking, from_status: str, to_status: str, at: dt.datetime) -> BookingEvent:
    e = BookingEvent.objects.create(booking=booking, from_status=from_status, to_status=to_status)
    BookingEvent.objects.filter(pk=e.pk).update(at=at)  # `at` is stamped on insert; history needs its own time
    return e


def charge(booking: Booking, *, user_class: str, amount: str, kind: str = "usage", subsidy: str = "0"):
    """A billing charge as billing would have written it for the booking."""
    from decimal import Decimal

    from billing.models import Charge
    from common.time import local_tz

    facility = booking.instrument.facility
    return Charge.objects.create(
        booking=booking,
        kind=kind,
        period=booking.start.astimezone(local_tz()).strftime("%Y-%m"),
        instrument=booking.instrument,
        facility=facility,
        issuer=facility.host,
        requester_institution=booking.institution,
        user_class=user_class,
        hourly_rate=Decimal("100.00"),
        billing_model="booked",
        minutes=booking.duration_minutes,
        gross=Decimal(amount) + Decimal(subsidy),
        subsidy=Decimal(subsidy),
        amount=Decimal(amount),
    )
