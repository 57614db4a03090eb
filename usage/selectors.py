"""Reads of actual use. The one source of used minutes: billing charges from `booking_use`, reports
count from `used_minutes_by_booking` and `used_minutes_by_instrument`."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from booking.models import Booking
from facilities.models import Institution
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


@dataclass(frozen=True)
class UseRow:
    """Used minutes of one instrument in a period by one requester of one institution (None: unknown,
    e.g. an interlock that named nobody)."""

    instrument_id: int
    institution_id: int | None
    institution_kind: str | None
    requester_id: int | None
    minutes: int


def use_in_period(*, instrument_ids: Iterable[int], start: dt.datetime, end: dt.datetime) -> list[UseRow]:
    """Effective machine time in [start, end): every session (open ones up to their last sign of use),
    counted for its booking's institution and requester, or for a walk-up for the user's institution;
    and each completed booking with no session, from its recorded actual times, else its booked times.
    Clipped to the period. Three queries whatever the number of instruments."""
    from facilities.models import Membership

    ids = list(instrument_ids)
    seconds: dict[tuple[int, int | None, int | None], float] = defaultdict(float)
    sessions = (
        UsageSession.objects.filter(instrument_id__in=ids, start__lt=end)
        .filter(Q(end__isnull=True, last_seen__gt=start) | Q(end__gt=start))
        .values_list(
            "instrument_id", "start", "end", "last_seen", "booking__institution_id", "booking__requester_id", "user_id"
        )
    )
    walk_up_users: set[int] = set()
    rows = list(sessions)
    for _, _, _, _, inst, _, user in rows:
        if inst is None and user is not None:
            walk_up_users.add(user)
    home: dict[int, int] = {}
    for user_id, institution_id in (
        Membership.objects.filter(user_id__in=walk_up_users).order_by("-id").values_list("user_id", "institution_id")
    ):
        home[user_id] = institution_id  # the first membership wins, as facilities.selectors.primary_institution
    for instrument_id, s, e, last_seen, inst, requester, user in rows:
        who = inst if inst is not None else home.get(user) if user is not None else None
        seconds[(instrument_id, who, requester if requester is not None else user)] += _seconds(
            max(s, start), min(e or last_seen, end)
        )
    completed = (
        Booking.objects.filter(
            instrument_id__in=ids, status=Booking.Status.COMPLETED, start__lt=end + dt.timedelta(days=31)
        )
        .filter(end__gt=start - dt.timedelta(days=31))
        .exclude(pk__in=UsageSession.objects.filter(booking__isnull=False, instrument_id__in=ids).values("booking_id"))
        .values_list("instrument_id", "start", "end", "actual_start", "actual_end", "institution_id", "requester_id")
    )
    for instrument_id, b_start, b_end, a_start, a_end, inst, requester in completed:
        s, e = (a_start, a_end) if a_start is not None and a_end is not None else (b_start, b_end)
        if s < end and e > start:
            seconds[(instrument_id, inst, requester)] += _seconds(max(s, start), min(e, end))
    kinds = dict(Institution.objects.filter(pk__in={k[1] for k in seconds if k[1]}).values_list("pk", "kind"))
    return [
        UseRow(instrument_id, inst, kinds.get(inst) if inst else None, requester, int(v // 60))
        for (instrument_id, inst, requester), v in sorted(
            seconds.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0, kv[0][2] or 0)
        )
        if v >= 60
    ]


def idle_minutes_by_instrument(
    *, instrument_ids: Iterable[int], start: dt.datetime, end: dt.datetime
) -> dict[int, int]:
    """Booked but not used, per instrument, in [start, end): for each booking that ended as completed or
    no-show, its booked time minus the time its sessions (else its recorded actual times) cover within it.
    A completed booking with no record counts as fully used; a no-show as fully idle."""
    ids = list(instrument_ids)
    bookings = list(
        Booking.objects.filter(
            instrument_id__in=ids,
            status__in=(Booking.Status.COMPLETED, Booking.Status.NO_SHOW),
            start__lt=end,
            end__gt=start,
        ).values_list("pk", "instrument_id", "status", "start", "end", "actual_start", "actual_end")
    )
    covered: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for booking_id, s, e, last_seen in UsageSession.objects.filter(booking_id__in=[b[0] for b in bookings]).values_list(
        "booking_id", "start", "end", "last_seen"
    ):
        covered[booking_id].append((s, e or last_seen))
    idle: dict[int, float] = defaultdict(float)
    for pk, instrument_id, status, b_start, b_end, a_start, a_end in bookings:
        lo, hi = max(b_start, start), min(b_end, end)
        spans = covered.get(pk)
        if spans is None:
            if status == Booking.Status.NO_SHOW:
                spans = []
            elif a_start is not None and a_end is not None:
                spans = [(a_start, a_end)]
            else:
                spans = [(b_start, b_end)]
        used = sum(_seconds(max(s, lo), min(e, hi)) for s, e in merge_spans(spans))
        idle[instrument_id] += max(0.0, _seconds(lo, hi) - used)
    return {pk: int(v // 60) for pk, v in idle.items()}


def merge_spans(spans: list[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime, dt.datetime]]:
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged
