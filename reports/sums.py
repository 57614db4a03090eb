"""The bookings side of the figures, summed by the database: each function is one grouped query, so
a report costs the same few queries and moves a few hundred rows whatever the number of bookings.

Durations are clipped to the period in SQL (LEAST/GREATEST), summed as intervals and turned into whole
minutes per group (rounded down; bookings start and end on whole minutes, so this only ever drops the
seconds of actual times recorded to the second)."""

import datetime as dt
from collections import defaultdict

from django.db.models import Case, Count, DurationField, ExpressionWrapper, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest, Least

from booking.models import Booking

from .periods import Period

COUNTED = (Booking.Status.REQUESTED, Booking.Status.APPROVED, Booking.Status.COMPLETED, Booking.Status.NO_SHOW)
ZERO = Value(dt.timedelta(0), output_field=DurationField())


def _minutes(value) -> int:
    if value is None:
        return 0
    if isinstance(value, dt.timedelta):
        return int(value.total_seconds() // 60)
    return int(value) // 60_000_000  # microseconds, where the backend hands back the raw sum


def _clip(start, end, period: Period):
    bound_start = Value(period.start)
    bound_end = Value(period.end)
    return ExpressionWrapper(Least(end, bound_end) - Greatest(start, bound_start), output_field=DurationField())


def _late(late_windows: dict[int, dt.timedelta]) -> Q:
    """Cancelled at or after start − the instrument's window: one condition per distinct window."""
    by_window: dict[dt.timedelta, list[int]] = defaultdict(list)
    for pk, window in late_windows.items():
        by_window[window].append(pk)
    late = Q(pk__in=[])
    for window, ids in by_window.items():
        late |= Q(instrument_id__in=ids, cancelled_at__gte=F("start") - Value(window, output_field=DurationField()))
    return Q(status=Booking.Status.CANCELLED) & late


def _with_actual(qs):
    return qs.annotate(a_start=Coalesce("actual_start", "start"), a_end=Coalesce("actual_end", "end"))


def booking_sums(instrument_ids: list[int], period: Period, late_windows: dict[int, dt.timedelta]) -> list[tuple]:
    """Rows (instrument id, institution id, institution kind, status, booked minutes, used minutes).

    booked: booked times clipped to the period, for counted bookings and late cancellations;
    used: completed bookings' actual times (booked ones where not recorded) clipped to the period."""
    booked_in = Q(start__lt=period.end, end__gt=period.start)
    used_in = Q(status=Booking.Status.COMPLETED, a_start__lt=period.end, a_end__gt=period.start)
    qs = (
        _with_actual(Booking.objects.filter(instrument_id__in=instrument_ids))
        .filter(Q(status__in=COUNTED) | _late(late_windows))
        .filter(booked_in | used_in)
        .values("instrument_id", "institution_id", "institution__kind", "status")
        .annotate(
            booked=Sum(Case(When(booked_in, then=_clip(F("start"), F("end"), period)), default=ZERO,
                            output_field=DurationField())),
            used=Sum(Case(When(used_in, then=_clip(F("a_start"), F("a_end"), period)), default=ZERO,
                          output_field=DurationField())),
        )
        .order_by()
    )
    return [
        (r["instrument_id"], r["institution_id"], r["institution__kind"], r["status"], _minutes(r["booked"]), _minutes(r["used"]))
        for r in qs
    ]


def outside_users(instrument_ids: list[int], period: Period) -> list[tuple[int, int]]:
    """Distinct (instrument id, requester id) of completed use in the period by institutions other than
    the instrument's facility's host."""
    return list(
        _with_actual(Booking.objects.filter(instrument_id__in=instrument_ids, status=Booking.Status.COMPLETED))
        .filter(a_start__lt=period.end, a_end__gt=period.start)
        .exclude(institution_id=F("instrument__facility__host_id"))
        .values_list("instrument_id", "requester_id")
        .distinct()
        .order_by()
    )


def booked_by_institution(instrument_ids: list[int], period: Period) -> list[tuple[int, int, int, int]]:
    """Rows (instrument id, institution id, booked minutes, bookings) of counted bookings in the period."""
    qs = (
        Booking.objects.filter(
            instrument_id__in=instrument_ids, status__in=COUNTED, start__lt=period.end, end__gt=period.start
        )
        .values("instrument_id", "institution_id")
        .annotate(booked=Sum(_clip(F("start"), F("end"), period)), n=Count("id"))
        .order_by()
    )
    return [(r["instrument_id"], r["institution_id"], _minutes(r["booked"]), r["n"]) for r in qs]
