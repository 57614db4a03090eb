"""Reads of bookings and availability, scoped to who is asking."""

import datetime as dt
import json
from collections.abc import Callable

from django.core.cache import cache
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from common.intervals import Span, complement, intersect, merge
from common.time import iso_local
from facilities.calendar import closed_spans_many, public_holidays
from facilities.models import GroupMember, Instrument, Membership
from facilities.models.tenants import Role
from facilities.selectors import managed_facility_ids

from .models import Booking, BookingSplit


def bookings_visible_to(user) -> QuerySet[Booking]:
    """Requesters see their own bookings, research group leaders their members', managers their
    facilities', finance their institution's (made by its people or paid by its accounts), platform
    admins all; everyone else none."""
    if not getattr(user, "is_authenticated", False):
        return Booking.objects.none()
    qs = Booking.objects.select_related("instrument", "instrument__facility", "requester", "institution")
    if user.is_superuser:
        return qs
    finance_of = list(Membership.objects.filter(user=user, role=Role.FINANCE).values_list("institution_id", flat=True))
    condition = Q(requester=user) | Q(instrument__facility_id__in=managed_facility_ids(user))
    condition |= Q(requester_id__in=GroupMember.objects.filter(group__leader=user).values("user_id"))
    if finance_of:
        paid_by_them = BookingSplit.objects.filter(booking=OuterRef("pk"), account__institution_id__in=finance_of)
        condition |= Q(institution_id__in=finance_of) | Q(Exists(paid_by_them))
    return qs.filter(condition)


def group_people_led_by(user) -> set[int]:
    """The members of the research groups this user leads: their leader sees their bookings."""
    return set(GroupMember.objects.filter(group__leader=user).values_list("user_id", flat=True))


def may_see_purpose(user, booking: Booking) -> bool:
    """The requester, their research group's leader, that facility's managers and the paying institutions'
    finance see the purpose (SPEC section 3): finance of the requester's institution sees the booking, but
    its purpose only when one of its institution's accounts pays part of it."""
    return purpose_checker(user)(booking)


def purpose_checker(user) -> Callable[[Booking], bool]:
    """`may_see_purpose` for many bookings at the cost of at most three queries in all: who the user
    manages, finances for and leads is read once; each booking's splits should be prefetched (with_details)."""
    if not getattr(user, "is_authenticated", False):
        return lambda booking: False
    if user.is_superuser:
        return lambda booking: True
    managed = managed_facility_ids(user)
    finance_of = set(Membership.objects.filter(user=user, role=Role.FINANCE).values_list("institution_id", flat=True))
    led: list[set[int]] = []  # read once, and only when a booking is neither one's own nor managed

    def check(booking: Booking) -> bool:
        if booking.requester_id == user.pk or booking.instrument.facility_id in managed:
            return True
        if not led:
            led.append(group_people_led_by(user))
        if booking.requester_id in led[0]:
            return True
        if not finance_of:
            return False
        # Paying is what lets finance read the purpose; being the requester's institution is not enough.
        return any(s.account.institution_id in finance_of for s in booking.splits.all())

    return check


def with_details(qs: QuerySet[Booking]) -> QuerySet[Booking]:
    """What the API shows of a booking, loaded in a fixed number of queries whatever the page size."""
    return qs.select_related("instrument", "instrument__facility", "requester", "institution").prefetch_related(
        Prefetch("splits", queryset=BookingSplit.objects.select_related("account").order_by("id"))
    )


def booking_fields(booking: Booking, *, show_purpose: bool) -> dict:
    """The contract's booking object (SPEC section 3), for any reader: `purpose` is None for one who may
    not see it. Expects requester, institution and splits loaded already."""
    return {
        "id": booking.pk,
        "instrument": booking.instrument_id,
        "start": iso_local(booking.start),
        "end": iso_local(booking.end),
        "status": booking.status,
        "requester": booking.requester.username,
        "institution": booking.institution.code,
        "purpose": booking.purpose if show_purpose else None,
        "splits": [{"account": s.account_id, "percent": str(s.percent)} for s in booking.splits.all()],
    }


def own_held(user, instrument_id: int, start: dt.datetime, end: dt.datetime) -> list[Booking]:
    """The user's own held bookings (requested or approved) on one instrument that touch [start, end),
    changeover included: what their week calendar marks as theirs. One query; none for who is anonymous."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        Booking.objects.held()
        .filter(requester=user, instrument_id=instrument_id, start__lt=end, hold_end__gt=start)
        .order_by("start")
    )


def held_spans_many(instrument_ids: list[int], start: dt.datetime, end: dt.datetime) -> dict[int, list[Span]]:
    """Spans held by bookings (changeover buffer included), per instrument, clipped to [start, end)."""
    out: dict[int, list[Span]] = {pk: [] for pk in instrument_ids}
    held = Booking.objects.holding(out, start, end).order_by("start").values_list("instrument_id", "start", "hold_end")
    for pk, s, e in held:
        out[pk].append((max(s, start), min(e, end)))
    return {pk: merge(spans) for pk, spans in out.items()}


def availability(instrument: Instrument, start: dt.datetime, end: dt.datetime) -> dict:
    """Public free/busy of one instrument over [start, end): busy spans labelled `booking` or
    `closure` (outside hours, holidays and closures), free the rest; sorted, disjoint, and together
    they cover the window exactly. No personal data."""
    version = Instrument.objects.filter(pk=instrument.pk).values_list("availability_version", flat=True).get()
    closed = closed_spans_many([instrument], start, end)[instrument.pk]
    held = held_spans_many([instrument.pk], start, end)[instrument.pk]
    busy = label_busy(closed, held)
    free = complement([(b["start"], b["end"]) for b in busy], start, end)
    return {
        "instrument": instrument.pk,
        "version": version,
        "start": start,
        "end": end,
        "busy": busy,
        "free": [{"start": s, "end": e} for s, e in free],
        "holidays": public_holidays(instrument, start, end),
    }


def label_busy(closed: list[Span], held: list[Span]) -> list[dict]:
    """One disjoint, sorted busy list: where a booking and a closure overlap, the closure wins."""
    busy = [{"start": s, "end": e, "kind": "closure"} for s, e in closed]
    if held:
        # Both lists are sorted and disjoint: one linear pass, however many bookings and closed days.
        open_parts = complement(closed, held[0][0], held[-1][1])
        busy += [{"start": a, "end": b, "kind": "booking"} for a, b in intersect(open_parts, held)]
    busy.sort(key=lambda b: (b["start"], b["end"]))
    # Touching spans of one kind read better as one.
    joined: list[dict] = []
    for b in busy:
        if joined and joined[-1]["kind"] == b["kind"] and joined[-1]["end"] == b["start"]:
            joined[-1]["end"] = b["end"]
        else:
            joined.append(b)
    return joined


AVAILABILITY_CACHE_SECONDS = 300


def availability_public(instrument: Instrument, start: dt.datetime, end: dt.datetime) -> str:
    """`availability` as the API shows it, encoded as JSON (times as +08:00 strings), cached under the
    instrument's availability version: every change to its calendar raises the version in the same
    transaction, so a cached answer is never served for a calendar that has changed since. The encoded
    text is what is kept, since decoding thousands of spans from the cache would cost what it saves.
    A new public-holiday schedule raises the versions of every office-calendar instrument. The short
    timeout bounds what edits that raise no version could leave."""
    version = Instrument.objects.filter(pk=instrument.pk).values_list("availability_version", flat=True).get()
    key = f"availability:{instrument.pk}:{version}:{start.timestamp()}:{end.timestamp()}"
    body = cache.get(key)
    if body is not None:
        return body
    snap = availability(instrument, start, end)
    body = json.dumps(
        {
            "instrument": snap["instrument"],
            "version": snap["version"],
            "start": iso_local(snap["start"]),
            "end": iso_local(snap["end"]),
            "busy": [
                {"start": iso_local(b["start"]), "end": iso_local(b["end"]), "kind": b["kind"]} for b in snap["busy"]
            ],
            "free": [{"start": iso_local(f["start"]), "end": iso_local(f["end"])} for f in snap["free"]],
            "holidays": [
                {
                    "date": h["date"].isoformat(),
                    "kind": h["kind"],
                    "festival": h["festival"],
                    "provisional": h["provisional"],
                }
                for h in snap["holidays"]
            ],
        },
        separators=(",", ":"),
    )
    if snap["version"] == version:  # nothing committed in between: safe to keep under this version
        cache.set(key, body, AVAILABILITY_CACHE_SECONDS)
    return body


def group_usage(group, *, now: dt.datetime) -> list[dict]:
    """For each of a group's limits: the hours its people hold in the current month or quarter."""
    from facilities.models import GroupHourLimit

    from .services.quotas import group_people_ids, period_bounds

    people = group_people_ids(group.pk)
    rows = []
    for limit in GroupHourLimit.objects.filter(group=group).select_related("instrument").order_by("instrument__code"):
        start, end = period_bounds(now, limit.period)
        spans = Booking.objects.held().filter(
            instrument=limit.instrument, requester_id__in=people, start__gte=start, start__lt=end
        )
        held = sum((e - s for s, e in spans.values_list("start", "end")), dt.timedelta())
        rows.append(
            {
                "instrument": limit.instrument_id,
                "instrument_code": limit.instrument.code,
                "period": limit.period,
                "max_hours": limit.max_hours,
                "held_hours": round(held.total_seconds() / 3600, 2),
                "period_start": iso_local(start),
                "period_end": iso_local(end),
            }
        )
    return rows
