"""Taking a slot: the one place where a held booking is written.

Callers open a transaction and lock the instruments they will write to with `lock_instruments`
(in id order, so two bundles never wait on each other in a cycle). Under that lock the overlap check
and the insert cannot interleave with another writer of the same instrument: on PostgreSQL the row lock
serializes them (and the exclusion constraint `booking_no_overlap` is the last word), on SQLite the
IMMEDIATE transaction holds the database's write lock from its first statement.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

from django.db import IntegrityError, OperationalError, connection, transaction

from common.time import iso_local
from common.errors import Conflict
from facilities.models import FundingAccount, Institution, Instrument, User
from facilities.services import bump_versions
from facilities.sql import insert, placeholders, rows

from ..models import Booking, BookingEvent, BookingSplit
from ..models.bookings import HELD_STATUSES
from ..selectors import attach_splits, held_rows
from ..signals import booking_changed, booking_created

SLOT_TAKEN_SQLSTATES = {"23P01", "40P01"}  # exclusion violation, deadlock: both mean "someone holds it"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class SplitSpec:
    account_id: int
    percent: Decimal
    # The account row as read when the split was checked, so hooks need not read it again.
    account: FundingAccount | None = field(default=None, compare=False, repr=False)


def lock_instruments(instrument_ids) -> dict[int, Instrument]:
    """Lock instrument rows (the per-instrument write lock) in id order and return them."""
    ids = sorted(set(instrument_ids))
    locked = Instrument.objects.select_for_update().select_related("facility", "facility__host").filter(pk__in=ids).order_by("pk")
    return {i.pk: i for i in locked}


def lock_instrument_rows(instrument_ids) -> None:
    """`lock_instruments` for callers that already hold the rows they need: the lock without the reload.
    SQLite has no row locks; its writers already hold the database's write lock from BEGIN."""
    if not connection.features.has_select_for_update:
        return
    ids = sorted(set(instrument_ids))
    rows(f"SELECT id FROM {Instrument._meta.db_table} WHERE id IN ({placeholders(len(ids))}) ORDER BY id FOR UPDATE", ids)


def hold_span(instrument: Instrument, start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    return start, end + dt.timedelta(minutes=instrument.buffer_minutes)


def conflicts_for(
    instrument: Instrument, start: dt.datetime, end: dt.datetime, exclude_ids=()
) -> list[dict[str, dt.datetime]]:
    """Held spans that a booking of [start, end) (plus buffer) would overlap."""
    s, e = hold_span(instrument, start, end)
    return [{"start": a, "end": b} for _, a, b in held_rows([instrument.pk], s, e, exclude_ids)]


def slot_unavailable(instrument: Instrument, conflicts: list[dict]) -> Conflict:
    return Conflict(
        "slot_unavailable",
        f"{instrument.code} is already held for part of that time; pick a free slot.",
        conflicts=[{"start": iso_local(c["start"]), "end": iso_local(c["end"])} for c in conflicts],
    )


def insert_held(
    *,
    instrument: Instrument,
    requester: User,
    institution: Institution,
    start: dt.datetime,
    end: dt.datetime,
    status: str,
    purpose: str,
    splits: list[SplitSpec],
    actor: User | None = None,
    reason: str = "",
    series=None,
    bundle=None,
) -> Booking:
    """Check and insert one held booking. Must run inside a transaction that locked `instrument`."""
    conflicts = conflicts_for(instrument, start, end)
    if conflicts:
        raise slot_unavailable(instrument, conflicts)
    _, hold_end = hold_span(instrument, start, end)
    try:
        with transaction.atomic():  # a savepoint, so a constraint violation leaves the caller usable
            booking = insert(Booking(
                instrument=instrument, requester=requester, institution=institution, start=start, end=end,
                hold_end=hold_end, status=status, purpose=purpose, series=series, bundle=bundle,
            ))
    except (IntegrityError, OperationalError) as exc:
        # psycopg raises a deadlock (40P01) as OperationalError, an exclusion violation (23P01) as
        # IntegrityError; both mean a concurrent writer holds the slot.
        if getattr(exc.__cause__, "sqlstate", None) in SLOT_TAKEN_SQLSTATES:
            raise slot_unavailable(instrument, conflicts_for(instrument, start, end)) from exc
        raise
    split_rows = [
        insert(BookingSplit(booking=booking, account_id=s.account_id, percent=s.percent.quantize(CENT))) for s in splits
    ]
    # The answer built from the booking (the API's 201) does not read back what was just written.
    attach_splits(booking, split_rows)
    insert(BookingEvent(booking=booking, actor=actor or requester, from_status="", to_status=status, reason=reason))
    bump_versions(instrument_ids=[instrument.pk], reason=f"booking_{status}")
    booking_created.send(sender=Booking, booking=booking, splits=splits)
    transaction.on_commit(partial(announce, booking, "requested"))
    if status == Booking.Status.APPROVED:
        transaction.on_commit(partial(announce, booking, "approved"))
    return booking


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
