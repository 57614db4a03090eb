"""What "held" means, stated once. Everything that asks whether time is free comes here: the request
service, availability, joint search, moves, series, bundles, the waitlist and the live state.

- A booking holds its slot while it is requested or approved (HELD_STATUSES).
- It holds [start, end) plus the instrument's changeover buffer: the held span [start, hold_end),
  fixed when the booking is made (`held_span`).
- No two held spans of one instrument overlap. PostgreSQL enforces it with the exclusion constraint
  `booking_no_overlap` declared on the model (`no_overlap_constraint`); SQLite has none, and there
  every write transaction is IMMEDIATE, so writers are serialized and the check before the insert
  cannot interleave with another writer.
- Writers of held time lock first (`lock_for_booking`): the instrument rows, then the capped funding
  accounts they charge, each in id order, so that the check and the write cannot interleave with
  another writer of the same instrument or budget, and no two writers wait on each other in a cycle.
  The lock also keeps PostgreSQL from deadlocking on a hot slot: without it, concurrent inserts of the
  same range wait on each other's index tuples.
- The one conflict query is `BookingQuerySet.holding` (and `conflicts`, which asks it for a request).
"""

import datetime as dt

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models import Func, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from common.errors import Conflict
from common.intervals import Span
from common.time import iso_local
from facilities.models import FundingAccount, GroupSpendingLimit, Instrument

from .states import BookingStatus

HELD_STATUSES = (BookingStatus.REQUESTED, BookingStatus.APPROVED)

# psycopg reports an exclusion violation as 23P01 and a deadlock as 40P01: both mean that a concurrent
# writer holds the slot.
SLOT_TAKEN_SQLSTATES = {"23P01", "40P01"}


def held_span(instrument: Instrument, start: dt.datetime, end: dt.datetime) -> Span:
    """The span a booking of [start, end) keeps from everyone else: its time and the changeover after."""
    return start, end + dt.timedelta(minutes=instrument.buffer_minutes)


class BookingQuerySet(models.QuerySet):
    def held(self) -> "BookingQuerySet":
        return self.filter(status__in=HELD_STATUSES)

    def holding(self, instrument_ids, start: dt.datetime, end: dt.datetime) -> "BookingQuerySet":
        """Held bookings of these instruments whose held span overlaps [start, end). The partial index
        `booking_held_instrument_start` serves it."""
        return self.held().filter(instrument_id__in=list(instrument_ids), start__lt=end, hold_end__gt=start)

    def conflicts(self, instrument: Instrument, start: dt.datetime, end: dt.datetime, exclude_ids=()) -> list[Span]:
        """The held spans a booking of [start, end) on `instrument` would overlap, in order of start
        (`exclude_ids`: bookings that do not count, such as the one being moved)."""
        s, e = held_span(instrument, start, end)
        found = self.holding([instrument.pk], s, e).exclude(pk__in=list(exclude_ids))
        return list(found.order_by("start").values_list("start", "hold_end"))


def slot_unavailable(instrument: Instrument, conflicts: list[Span]) -> Conflict:
    return Conflict(
        "slot_unavailable",
        gettext("%(code)s is already held for part of that time; pick a free slot.") % {"code": instrument.code},
        conflicts=[{"start": iso_local(s), "end": iso_local(e)} for s, e in conflicts],
    )


def lock_for_booking(*, instrument_ids, accounts=()) -> None:
    """Inside a transaction: lock the instruments, then the accounts among `accounts` (FundingAccount
    rows as read) that have a budget cap or a research group's spending limit, each in id order. Every
    writer of held time takes its locks in this one order. An account without either has no budget to
    overspend, so it is not locked and two bookings charging it do not wait on each other."""
    if not connection.features.has_select_for_update:
        return  # SQLite: the IMMEDIATE transaction already holds the database's write lock
    if instrument_ids:
        list(Instrument.objects.select_for_update().filter(pk__in=set(instrument_ids)).order_by("pk").values_list("pk"))
    capped = {a.pk for a in accounts if a.budget_cap is not None}
    if accounts:
        # An account a research group limits per month is spent under the same lock as a capped one.
        limited = GroupSpendingLimit.objects.filter(account_id__in=[a.pk for a in accounts])
        capped |= set(limited.values_list("account_id", flat=True))
    if capped:
        list(FundingAccount.objects.select_for_update().filter(pk__in=capped).order_by("pk").values_list("pk"))


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class PostgresOnlyExclusion(ExclusionConstraint):
    """An exclusion constraint where the database has them (PostgreSQL); elsewhere it adds nothing to
    the schema and validates nothing, and the serialized writes described above keep the rule."""

    def _applies(self, schema_editor) -> bool:
        return schema_editor.connection.vendor == "postgresql"

    def constraint_sql(self, model, schema_editor):
        return super().constraint_sql(model, schema_editor) if self._applies(schema_editor) else None

    def create_sql(self, model, schema_editor):
        return super().create_sql(model, schema_editor) if self._applies(schema_editor) else None

    def remove_sql(self, model, schema_editor):
        return super().remove_sql(model, schema_editor) if self._applies(schema_editor) else None

    def validate(self, model, instance, exclude=None, using=DEFAULT_DB_ALIAS):
        if connections[using].vendor == "postgresql":
            super().validate(model, instance, exclude=exclude, using=using)


def no_overlap_constraint() -> ExclusionConstraint:
    return PostgresOnlyExclusion(
        name="booking_no_overlap",
        expressions=[
            ("instrument", RangeOperators.EQUAL),
            (TsTzRange("start", "hold_end", RangeBoundary()), RangeOperators.OVERLAPS),
        ],
        condition=Q(status__in=HELD_STATUSES),
        violation_error_code="slot_unavailable",
        violation_error_message=_("The instrument is already held for part of that time."),
    )
