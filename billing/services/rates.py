"""Who pays which rate: the user class of a booking and the rate snapshot fixed when it is made."""

from decimal import Decimal
from functools import cache

from facilities.models import Facility, Institution, RateCard
from facilities.models.catalog import UserClass
from facilities.sql import columns, insert, instance, rows

from ..models import RateSnapshot


def user_class_for(*, institution: Institution, facility: Facility) -> str:
    """internal: the requester's institution hosts the facility; industry: it is a company;
    external_academic otherwise."""
    if institution.pk == facility.host_id:
        return UserClass.INTERNAL
    if institution.kind == Institution.Kind.COMPANY:
        return UserClass.INDUSTRY
    return UserClass.EXTERNAL_ACADEMIC


@cache
def _rate_sql() -> str:
    # One row per (instrument, class) by constraint. Plain SQL: every created booking reads it, and the
    # ORM query cost several times the read (see facilities/sql.py).
    return f"SELECT {columns(RateCard, 'r')} FROM {RateCard._meta.db_table} r WHERE r.instrument_id = %s AND r.user_class = %s"


def published_rate(*, instrument_id: int, user_class: str) -> Decimal | None:
    found = rows(_rate_sql(), [instrument_id, str(user_class)])
    return instance(RateCard, found[0]).hourly_rate if found else None


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
    return insert(RateSnapshot(
        booking=booking, user_class=user_class, hourly_rate=rate if rate is not None else Decimal("0.00"),
        published=rate is not None,
    ))
