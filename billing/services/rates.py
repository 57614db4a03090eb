"""Who pays which rate: the user class of a booking and the rate snapshot fixed when it is made."""

from decimal import Decimal

from facilities.models import Facility, Institution, RateCard
from facilities.models.catalog import UserClass

from ..models import RateSnapshot


def user_class_for(*, institution: Institution, facility: Facility) -> str:
    """internal: the requester's institution hosts the facility; industry: it is a company;
    external_academic otherwise."""
    if institution.pk == facility.host_id:
        return UserClass.INTERNAL
    if institution.kind == Institution.Kind.COMPANY:
        return UserClass.INDUSTRY
    return UserClass.EXTERNAL_ACADEMIC


def published_rate(*, instrument_id: int, user_class: str) -> Decimal | None:
    """The hourly rate the instrument publishes for the class (one row at most, by constraint)."""
    return (
        RateCard.objects.filter(instrument_id=instrument_id, user_class=user_class)
        .values_list("hourly_rate", flat=True)
        .first()
    )


def snapshot_rate(*, booking, new_booking: bool = False) -> RateSnapshot:
    """Fix the booking's user class and hourly rate now; an existing snapshot is never changed.
    An instrument without a published rate for the class is free for it (rate 0, published=False).
    `new_booking`: the booking row was written in this transaction, so it has no snapshot yet."""
    if not new_booking:
        existing = RateSnapshot.objects.filter(booking_id=booking.pk).first()
        if existing is not None:
            return existing
    facility = booking.instrument.facility
    user_class = user_class_for(institution=booking.institution, facility=facility)
    rate = published_rate(instrument_id=booking.instrument_id, user_class=user_class)
    return RateSnapshot.objects.create(
        booking=booking,
        user_class=user_class,
        hourly_rate=rate if rate is not None else Decimal("0.00"),
        published=rate is not None,
    )
