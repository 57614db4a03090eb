"""Taking a slot: the one place where a held booking is written.

Callers open a transaction and call `holds.lock_for_booking` first; under that lock `take_slot` checks
what depends on other bookings — budgets (through the `validate_splits` hook), the requester's future
bookings, time shares, and last the slot itself — and writes the booking, its splits and its audit
entry. On PostgreSQL the exclusion constraint is the last word on the slot.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

from django.db import IntegrityError, OperationalError, transaction

from facilities.models import FundingAccount, Institution, Instrument, User
from facilities.services import bump_versions

from ..holds import SLOT_TAKEN_SQLSTATES, held_span, slot_unavailable
from ..models import Booking, BookingEvent, BookingSplit
from ..signals import booking_changed, booking_created, validate_splits
from .quotas import check_future_limit, check_group_limits
from .time_shares import check_time_share

CENT = Decimal("0.01")


@dataclass(frozen=True)
class SplitSpec:
    account_id: int
    percent: Decimal
    # The account row as read when the split was checked, so the lock and the hooks need not read it again.
    account: FundingAccount = field(compare=False, repr=False)


def take_slot(
    *,
    instrument: Instrument,
    requester: User,
    institution: Institution,
    start: dt.datetime,
    end: dt.datetime,
    status: str,
    purpose: str,
    splits: list[SplitSpec],
    now: dt.datetime,
    actor: User | None = None,
    reason: str = "",
    series=None,
    bundle=None,
    kind: str = Booking.Kind.HOURLY,
) -> Booking:
    """Check what depends on other bookings and write one held booking. Must run inside a transaction
    that took `lock_for_booking` for the instrument and the splits' accounts."""
    validate_splits.send(
        sender=Booking,
        requester=requester,
        institution=institution,
        instrument=instrument,
        start=start,
        end=end,
        splits=splits,
    )
    if kind == Booking.Kind.HOURLY:
        # Awarded beamtime was weighed against partner shares, quotas and group limits when it was allocated.
        if end > now:
            check_future_limit(instrument=instrument, requester=requester, now=now)
            check_group_limits(instrument=instrument, requester=requester, start=start, end=end)
        check_time_share(instrument=instrument, institution=institution, start=start, end=end)
    conflicts = Booking.objects.conflicts(instrument, start, end)
    if conflicts:
        raise slot_unavailable(instrument, conflicts)
    _, hold_end = held_span(instrument, start, end)
    booking = Booking(
        instrument=instrument,
        requester=requester,
        institution=institution,
        start=start,
        end=end,
        hold_end=hold_end,
        status=status,
        purpose=purpose,
        series=series,
        bundle=bundle,
        kind=kind,
    )
    save_holding(booking, instrument)
    BookingSplit.objects.bulk_create(
        [BookingSplit(booking=booking, account_id=s.account_id, percent=s.percent.quantize(CENT)) for s in splits]
    )
    BookingEvent.objects.create(
        booking=booking, actor=actor or requester, from_status="", to_status=status, reason=reason
    )
    bump_versions(instrument_ids=[instrument.pk], reason=f"booking_{status}")
    booking_created.send(sender=Booking, booking=booking, splits=splits)
    transaction.on_commit(partial(announce, booking, "requested"))
    if status == Booking.Status.APPROVED:
        transaction.on_commit(partial(announce, booking, "approved"))
    return booking


def save_holding(booking: Booking, instrument: Instrument, exclude_ids=()) -> None:
    """Save a booking that holds time; the exclusion constraint's refusal (PostgreSQL) becomes the
    contract's 409, in a savepoint so that the caller's transaction stays usable."""
    try:
        with transaction.atomic():
            booking.save()
    except (IntegrityError, OperationalError) as exc:
        if getattr(exc.__cause__, "sqlstate", None) in SLOT_TAKEN_SQLSTATES:
            s, e = booking.start, booking.end
            raise slot_unavailable(instrument, Booking.objects.conflicts(instrument, s, e, exclude_ids)) from exc
        raise


def announce(booking: Booking, event: str) -> None:
    booking_changed.send(
        sender=Booking,
        booking_id=booking.pk,
        instrument_id=booking.instrument_id,
        facility_id=booking.instrument.facility_id,
        requester_id=booking.requester_id,
        event=event,
        status=booking.status,
        sequence=booking.sequence,
    )
