"""The commonest answer under contention, given cheaply: "that slot is already held".

When many people go for the same hot slot, almost every attempt finds it taken. Taking the full path
for each (rule reads, accounts, budget, the instrument lock) costs a few dozen queries to learn what one
indexed read already says, so a request first asks that read. It takes no lock and decides nothing
about a free slot: it only refuses when a committed held booking overlaps the request, which is true at
that moment whatever else happens. A request that passes goes through the full path, where the overlap
is checked again under the instrument lock (and, on PostgreSQL, by the exclusion constraint).

The order of answers stays that of the full path wherever it matters to the requester: malformed
times, an instrument closed for booking, and its unit, duration, lead-time and horizon rules are
reported before a conflict, and accounts without the researcher role get their 403 from the full path.
Operating hours, qualification and accounts are checked only for slots that are free.
"""

import datetime as dt
from functools import cache

from django.db import DEFAULT_DB_ALIAS

from facilities.auth import token_owner_sql
from facilities.sql import bind, held_literals, moment, rows
from facilities.models import Facility, Instrument, Membership
from facilities.models.tenants import Role

from .. import rules
from ..models import Booking
from ..models.bookings import HELD_STATUSES
from .holds import conflicts_for, slot_unavailable

MAX_LISTED = 100

# What the static rules and the refusal read of the instrument, in the model's field order: from_db
# takes a partial row in that order, and builds the instance in a third of the time a constructor does.
_READ = [
    f for f in Instrument._meta.concrete_fields
    if f.attname in {"id", "facility_id", "code", "active", "booking_unit_minutes", "min_minutes", "max_minutes",
                     "lead_time_minutes", "horizon_days", "buffer_minutes"}
]
_INSTRUMENT_FIELDS = tuple(f.attname for f in _READ)


@cache
def _sql(by_token: bool) -> str:
    instrument, facility = Instrument._meta.db_table, Facility._meta.db_table
    booking, membership = Booking._meta.db_table, Membership._meta.db_table
    requester = token_owner_sql() if by_token else "%s"
    columns = ", ".join(f"i.{f.column}" for f in _READ)
    held = held_literals(HELD_STATUSES)
    # Held spans (each booking with its changeover buffer) are compared with the request's own span
    # [start, end): any overlap is a conflict. A clash of the request's own buffer with a later
    # booking is left to the full path.
    return (
        f"SELECT {columns}, f.status,"
        f" EXISTS (SELECT 1 FROM {membership} m WHERE m.user_id = {requester} AND m.role = %s),"
        f" b.start, b.hold_end"
        f" FROM {instrument} i JOIN {facility} f ON f.id = i.facility_id"
        f" JOIN {booking} b ON b.instrument_id = i.id"
        f" WHERE i.id = %s AND b.status IN ({held}) AND b.start < %s AND b.hold_end > %s"
        f" ORDER BY b.start LIMIT {MAX_LISTED + 1}"
    )


def refuse_if_held(
    *,
    requester_id: int | None = None,
    requester_token: str | None = None,
    instrument_id: int,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
) -> None:
    """Raise the contract's 409 `slot_unavailable` when a held booking already overlaps [start, end).
    The requester is named by id, or by API token (an unknown key or inactive user is no researcher,
    so nothing is refused and the caller's own authentication answers)."""
    if (requester_id is None) == (requester_token is None):
        raise TypeError("Name the requester by id or by token, not both.")
    rules.check_times(start, end)
    found = rows(
        _sql(requester_token is not None),
        [requester_id if requester_token is None else requester_token, Role.RESEARCHER, instrument_id, bind(end), bind(start)],
    )
    if not found:
        return
    first = found[0]
    width = len(_INSTRUMENT_FIELDS)
    facility_status, is_researcher = first[width:width + 2]
    if not is_researcher:
        return  # the full path answers 403
    instrument = Instrument.from_db(DEFAULT_DB_ALIAS, _INSTRUMENT_FIELDS, first[:width])
    instrument.facility = Facility.from_db(DEFAULT_DB_ALIAS, ("id", "status"), (instrument.facility_id, facility_status))
    rules.check_request_rules(instrument=instrument, start=start, end=end, now=now)
    if instrument.buffer_minutes or len(found) > MAX_LISTED:
        conflicts = conflicts_for(instrument, start, end)  # the exact list, buffer included
    else:
        conflicts = [{"start": moment(row[-2]), "end": moment(row[-1])} for row in found]
    raise slot_unavailable(instrument, conflicts)
