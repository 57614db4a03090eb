"""The bookings side of the figures, summed by the database: each function is one grouped query, so
a report costs the same few queries and moves a few hundred rows whatever the number of bookings.

Durations are clipped to the period in SQL (LEAST/GREATEST), measured in whole seconds per booking and
summed as integers, then turned into whole minutes per group (rounded down; bookings start and end on
whole minutes, so this only ever drops the seconds of actual times recorded to the second)."""

import datetime as dt
from collections import defaultdict

from django.db.models import Case, Count, F, Func, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Greatest, Least

from booking.models import Booking

from .periods import Period
from .usage import USED_END, USED_START, USED_STATUS, used_in, with_used_span

COUNTED = (Booking.Status.REQUESTED, Booking.Status.APPROVED, Booking.Status.COMPLETED, Booking.Status.NO_SHOW)
# Bookings are looked for by their booked start, from (period start − the longest booking an instrument
# allows − this margin) to (period end + this margin). Without a bound on the start the database cannot
# use the (instrument, start) index and reads every booking ever made. The margin covers actual use
# recorded away from the booked times (completing a booking refuses actual use longer than 31 days) and
# bookings made before an instrument's maximum duration was lowered.
MARGIN = dt.timedelta(days=31)


class Seconds(Func):
    """Whole seconds from the first datetime expression to the second, computed natively by the database
    (Django's portable datetime subtraction runs a Python function per row on SQLite)."""

    output_field = IntegerField()
    arg_joiner = " - "
    template = "CAST(ROUND(EXTRACT(EPOCH FROM (%(expressions)s))) AS BIGINT)"

    def __init__(self, start, end):
        super().__init__(end, start)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            arg_joiner=") - julianday(",
            template="CAST(ROUND((julianday(%(expressions)s)) * 86400.0) AS INTEGER)",
            **extra,
        )


def _minutes(seconds) -> int:
    return int(seconds or 0) // 60


def clipped_seconds(start, end, period: Period) -> Seconds:
    return Seconds(Greatest(start, Value(period.start)), Least(end, Value(period.end)))


def longest_booking(instruments) -> dt.timedelta:
    return dt.timedelta(minutes=max((i.max_minutes for i in instruments), default=0))


def _late(late_windows: dict[int, dt.timedelta]) -> Q:
    """Cancelled at or after start − the instrument's window (`lead` is start − cancelled_at, in seconds):
    one condition per distinct window."""
    by_window: dict[dt.timedelta, list[int]] = defaultdict(list)
    for pk, window in late_windows.items():
        by_window[window].append(pk)
    late = Q(pk__in=[])
    for window, ids in by_window.items():
        late |= Q(instrument_id__in=ids, lead__lte=int(window.total_seconds()))
    return Q(status=Booking.Status.CANCELLED) & late


def near(period: Period, longest: dt.timedelta) -> Q:
    return Q(start__gte=period.start - longest - MARGIN, start__lt=period.end + MARGIN)


def _sum_if(condition: Q, seconds) -> Sum:
    return Sum(Case(When(condition, then=seconds), default=Value(0), output_field=IntegerField()))


def booking_sums(
    instrument_ids: list[int], period: Period, late_windows: dict[int, dt.timedelta], longest: dt.timedelta
) -> list[tuple]:
    """Rows (instrument id, institution id, institution kind, status, booked minutes, used minutes).

    booked: booked times clipped to the period, for counted bookings and late cancellations;
    used: completed bookings' actual times (booked ones where not recorded) clipped to the period."""
    booked_in = Q(start__lt=period.end, end__gt=period.start)
    counts = Q(status__in=COUNTED) | _late(late_windows)
    # Conditions live in the sums, not in WHERE: any condition on the status there makes SQLite's planner
    # leave the (instrument, start) index for the status index and read most of the table. Rejected and
    # early-cancelled bookings come back with zero minutes.
    qs = (
        with_used_span(Booking.objects.filter(near(period, longest), instrument_id__in=instrument_ids))
        .annotate(lead=Seconds(F("cancelled_at"), F("start")))
        .values("instrument_id", "institution_id", "institution__kind", "status")
        .annotate(
            booked=_sum_if(booked_in & counts, clipped_seconds(F("start"), F("end"), period)),
            used=_sum_if(used_in(period), clipped_seconds(F(USED_START), F(USED_END), period)),
        )
        .order_by()
    )
    return [
        (
            r["instrument_id"],
            r["institution_id"],
            r["institution__kind"],
            r["status"],
            _minutes(r["booked"]),
            _minutes(r["used"]),
        )
        for r in qs
    ]


def outside_users(instrument_ids: list[int], period: Period, longest: dt.timedelta) -> set[tuple[int, int]]:
    """Distinct (instrument id, requester id) of completed use in the period by institutions other than
    the instrument's facility's host."""
    rows = (
        with_used_span(Booking.objects.filter(near(period, longest), instrument_id__in=instrument_ids))
        .filter(**{f"{USED_START}__lt": period.end, f"{USED_END}__gt": period.start})
        .exclude(institution_id=F("instrument__facility__host_id"))
        # The status is sorted out here rather than in WHERE, for the index's sake (see booking_sums).
        .values_list("instrument_id", "requester_id", "status")
        .distinct()
        .order_by()
    )
    return {(inst, who) for inst, who, status in rows if status == USED_STATUS}


def booked_by_institution(
    instrument_ids: list[int], period: Period, longest: dt.timedelta
) -> list[tuple[int, int, int, int]]:
    """Rows (instrument id, institution id, booked minutes, bookings) of counted bookings in the period."""
    qs = (
        Booking.objects.filter(
            near(period, longest),
            instrument_id__in=instrument_ids,
            status__in=COUNTED,
            start__lt=period.end,
            end__gt=period.start,
        )
        .values("instrument_id", "institution_id")
        .annotate(booked=Sum(clipped_seconds(F("start"), F("end"), period)), n=Count("id"))
        .order_by()
    )
    return [(r["instrument_id"], r["institution_id"], _minutes(r["booked"]), r["n"]) for r in qs]
