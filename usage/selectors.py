"""Reads of actual use. The one source of used minutes: billing charges from `booking_use`; the sharing and
fairness reports and the service records for the sharing platforms count `used_spans` (the one definition of
effective machine time), through `use_in_period`, `used_minutes_by_instrument` or directly."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet

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
    """Minutes of effective use within [start, end) per instrument (`used_spans`; None: every instrument),
    rounded as the sharing report rounds them, so the two agree."""
    from facilities.models import Instrument

    ids = list(instrument_ids) if instrument_ids is not None else list(Instrument.objects.values_list("pk", flat=True))
    minutes: dict[int, int] = defaultdict(int)
    for (instrument_id, _, _), m in minutes_by_user(used_spans(instrument_ids=ids, start=start, end=end)).items():
        minutes[instrument_id] += m
    return dict(minutes)


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


def own_violations(user) -> QuerySet:
    """The asking user's own violations (their dashboard), newest first."""
    from .models import Violation

    if not getattr(user, "is_authenticated", False):
        return Violation.objects.none()
    return Violation.objects.filter(user=user).select_related("facility").order_by("-occurred_at", "-id")


def own_open_suspensions(user, *, now) -> QuerySet:
    """The asking user's suspensions still running or with an appeal still pending."""
    from .models import Suspension

    if not getattr(user, "is_authenticated", False):
        return Suspension.objects.none()
    return (
        Suspension.objects.filter(user=user)
        .filter(Q(ends_at__gt=now) | Q(appeal=Suspension.Appeal.PENDING))
        .select_related("facility")
        .order_by("-starts_at", "-id")
    )


@dataclass(frozen=True)
class UseRow:
    """Used minutes of one instrument in a period by one requester of one institution (None: unknown,
    e.g. an interlock that named nobody)."""

    instrument_id: int
    institution_id: int | None
    institution_kind: str | None
    requester_id: int | None
    minutes: int


@dataclass(frozen=True)
class UsedSpan:
    """One stretch of recorded use touching a period: a usage session (a booking's, or a walk-up's with
    `booking_id` None), or a completed booking with no session, from its recorded actual times, else its
    booked times. `start`/`end` are the whole span; `seconds` the part within the period. The institution
    is the booking's, else the walk-up user's (None: nobody named, e.g. an interlock)."""

    instrument_id: int
    booking_id: int | None
    session_id: int | None
    institution_id: int | None
    requester_id: int | None
    start: dt.datetime
    end: dt.datetime
    seconds: float


def used_spans(*, instrument_ids: Iterable[int], start: dt.datetime, end: dt.datetime) -> list[UsedSpan]:
    """The one definition of effective machine time in [start, end): every session (open ones up to their
    last sign of use), and each completed booking with no session from its recorded actual times, else its
    booked times. The sharing report, the fairness report and the service records for the sharing
    platforms all count it (through `use_in_period` or directly). Three queries whatever the number of
    instruments."""
    from facilities.models import Membership

    ids = list(instrument_ids)
    rows = list(
        UsageSession.objects.filter(instrument_id__in=ids, start__lt=end)
        .filter(Q(end__isnull=True, last_seen__gt=start) | Q(end__gt=start))
        .values_list(
            "pk",
            "instrument_id",
            "start",
            "end",
            "last_seen",
            "booking_id",
            "booking__institution_id",
            "booking__requester_id",
            "user_id",
        )
    )
    walk_up_users = {user for *_, booking, _, _, user in rows if booking is None and user is not None}
    home: dict[int, int] = {}
    for user_id, institution_id in (
        Membership.objects.filter(user_id__in=walk_up_users).order_by("-id").values_list("user_id", "institution_id")
    ):
        home[user_id] = institution_id  # the first membership wins, as facilities.selectors.primary_institution
    spans = []
    for pk, instrument_id, s, e, last_seen, booking, inst, requester, user in rows:
        e = e or last_seen
        if booking is None:
            inst, requester = (home.get(user) if user is not None else None), user
        elif requester is None:
            requester = user
        spans.append(UsedSpan(instrument_id, booking, pk, inst, requester, s, e, _seconds(max(s, start), min(e, end))))
    completed = (
        Booking.objects.filter(
            instrument_id__in=ids, status=Booking.Status.COMPLETED, start__lt=end + dt.timedelta(days=31)
        )
        .filter(end__gt=start - dt.timedelta(days=31))
        .exclude(pk__in=UsageSession.objects.filter(booking__isnull=False, instrument_id__in=ids).values("booking_id"))
        .values_list(
            "pk", "instrument_id", "start", "end", "actual_start", "actual_end", "institution_id", "requester_id"
        )
    )
    for pk, instrument_id, b_start, b_end, a_start, a_end, inst, requester in completed:
        s, e = (a_start, a_end) if a_start is not None and a_end is not None else (b_start, b_end)
        if s < end and e > start:
            spans.append(UsedSpan(instrument_id, pk, None, inst, requester, s, e, _seconds(max(s, start), min(e, end))))
    return spans


def minutes_by_user(spans: Iterable[UsedSpan]) -> dict[tuple[int, int | None, int | None], int]:
    """Whole minutes per (instrument, institution, requester): seconds summed per group, then rounded down
    once (so the figures of every report that counts these spans agree to the minute)."""
    seconds: dict[tuple[int, int | None, int | None], float] = defaultdict(float)
    for span in spans:
        seconds[(span.instrument_id, span.institution_id, span.requester_id)] += span.seconds
    return {key: int(v // 60) for key, v in seconds.items() if v >= 60}


def use_in_period(*, instrument_ids: Iterable[int], start: dt.datetime, end: dt.datetime) -> list[UseRow]:
    """Effective machine time in [start, end) (`used_spans`) in whole minutes per instrument, institution
    and requester. Four queries whatever the number of instruments."""
    minutes = minutes_by_user(used_spans(instrument_ids=instrument_ids, start=start, end=end))
    kinds = dict(Institution.objects.filter(pk__in={k[1] for k in minutes if k[1]}).values_list("pk", "kind"))
    return [
        UseRow(instrument_id, inst, kinds.get(inst) if inst else None, requester, m)
        for (instrument_id, inst, requester), m in sorted(
            minutes.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0, kv[0][2] or 0)
        )
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
