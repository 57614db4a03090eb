"""Reads of actual use. The one source of used minutes: billing charges from `booking_use`, reports
count from `used_minutes_by_booking` and `used_minutes_by_instrument`."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from booking.models import Booking
from facilities.selectors import managed_facility_ids

from .models import UsageSession


def sessions_visible_to(user) -> QuerySet[UsageSession]:
    """One's own use; a manager's facilities' use; platform admins see all."""
    if not getattr(user, "is_authenticated", False):
        return UsageSession.objects.none()
    qs = UsageSession.objects.select_related("instrument", "instrument__facility", "user")
    if user.is_superuser:
        return qs
    return qs.filter(Q(user=user) | Q(instrument__facility_id__in=managed_facility_ids(user)))


def open_session(instrument_id: int) -> UsageSession | None:
    """The use going on now, if any (the latest when an interlock and a check-in overlap)."""
    return (
        UsageSession.objects.select_related("user")
        .filter(instrument_id=instrument_id, end__isnull=True)
        .order_by("-start")
        .first()
    )


def _seconds(start: dt.datetime, end: dt.datetime) -> float:
    return max(0.0, (end - start).total_seconds())


def session_end(session: UsageSession) -> dt.datetime:
    """Where a session counts until: its end, or while open its last sign of use."""
    return session.end or session.last_seen


@dataclass(frozen=True)
class Use:
    """A booking's recorded use in whole minutes; `overrun` is the part after the booked end."""

    used_minutes: int
    overrun_minutes: int


def use_of_spans(booking_end: dt.datetime, spans: Iterable[tuple[dt.datetime, dt.datetime]]) -> Use:
    used = over = 0.0
    for start, end in spans:
        used += _seconds(start, end)
        over += _seconds(max(start, booking_end), end)
    return Use(int(used // 60), int(over // 60))


def booking_use(booking: Booking) -> Use | None:
    """The booking's use: its sessions when it has any, else the actual times recorded on the booking
    (history, or a manager completing it by hand), else None (nothing recorded)."""
    sessions = list(UsageSession.objects.filter(booking_id=booking.pk).order_by("start"))
    if sessions:
        return use_of_spans(booking.end, [(s.start, session_end(s)) for s in sessions])
    if booking.actual_start is not None and booking.actual_end is not None:
        return use_of_spans(booking.end, [(booking.actual_start, booking.actual_end)])
    return None


def used_minutes_by_booking(booking_ids: Iterable[int]) -> dict[int, int]:
    """Used minutes of each booking that has recorded use (sessions, else its actual times)."""
    ids = list(booking_ids)
    seconds: dict[int, float] = defaultdict(float)
    for booking_id, start, end, last_seen in UsageSession.objects.filter(booking_id__in=ids).values_list(
        "booking_id", "start", "end", "last_seen"
    ):
        seconds[booking_id] += _seconds(start, end or last_seen)
    rest = Booking.objects.filter(pk__in=ids, actual_start__isnull=False, actual_end__isnull=False).exclude(
        pk__in=list(seconds)
    )
    for pk, a_start, a_end in rest.values_list("pk", "actual_start", "actual_end"):
        if a_start is not None and a_end is not None:
            seconds[pk] += _seconds(a_start, a_end)
    return {pk: int(v // 60) for pk, v in seconds.items()}


def used_minutes_by_instrument(
    *, start: dt.datetime, end: dt.datetime, instrument_ids: Iterable[int] | None = None
) -> dict[int, int]:
    """Minutes of use within [start, end) per instrument, from sessions (open ones until now). Bookings
    from before sessions were recorded count through their actual times."""
    now = timezone.now()
    seconds: dict[int, float] = defaultdict(float)
    sessions = UsageSession.objects.filter(start__lt=end).filter(Q(end__isnull=True) | Q(end__gt=start))
    bookings = Booking.objects.filter(
        actual_start__isnull=False, actual_end__isnull=False, actual_start__lt=end, actual_end__gt=start
    ).exclude(pk__in=UsageSession.objects.filter(booking__isnull=False).values("booking_id"))
    if instrument_ids is not None:
        ids = list(instrument_ids)
        sessions = sessions.filter(instrument_id__in=ids)
        bookings = bookings.filter(instrument_id__in=ids)
    for instrument_id, s, e in sessions.values_list("instrument_id", "start", "end"):
        seconds[instrument_id] += _seconds(max(s, start), min(e or now, end))
    for instrument_id, a_start, a_end in bookings.values_list("instrument_id", "actual_start", "actual_end"):
        if a_start is not None and a_end is not None:
            seconds[instrument_id] += _seconds(max(a_start, start), min(a_end, end))
    return {pk: int(v // 60) for pk, v in seconds.items()}


def violations_visible_to(user) -> QuerySet:
    """One's own violations; a manager's facilities'; platform admins all."""
    from .models import Violation

    if not getattr(user, "is_authenticated", False):
        return Violation.objects.none()
    qs = Violation.objects.select_related("facility", "user")
    if user.is_superuser:
        return qs
    return qs.filter(Q(user=user) | Q(facility_id__in=managed_facility_ids(user)))


def suspensions_visible_to(user) -> QuerySet:
    from .models import Suspension

    if not getattr(user, "is_authenticated", False):
        return Suspension.objects.none()
    qs = Suspension.objects.select_related("facility", "user", "decided_by")
    if user.is_superuser:
        return qs
    return qs.filter(Q(user=user) | Q(facility_id__in=managed_facility_ids(user)))
