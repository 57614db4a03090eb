"""What a manager needs to decide a request, for every row of the approval queue at once: the requester
and institution, the cost at the booking's fixed rate and each payer's share, whether the requester is
qualified, what it collides with, and the time-share balance of co-built instruments.

Loaded in a fixed number of queries whatever the queue's length, plus a few per co-built instrument and
quarter in the queue (the time-share balance is computed by booking's own rule code)."""

from typing import Any

from django.db.models import Prefetch, Q

from booking.models import Booking, BookingSplit
from booking.services.time_shares import minutes_left, quarter_bounds, quarter_share_status
from facilities.models import Closure, TimeShare
from facilities.selectors import current_qualifications

from ..week import estimate


def queue_queryset(qs):
    return qs.select_related("instrument__facility", "requester", "institution", "rate_snapshot").prefetch_related(
        Prefetch("splits", queryset=BookingSplit.objects.select_related("account__institution").order_by("id"))
    )


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.1f}"


def decorate(queue: list[Booking]) -> list[Booking]:
    """Sets on each booking: `cost` (estimate dict with `lines` of (split, share)), `payers`, `qualified`
    (True, False, or None when the instrument needs no qualification), `closures` (closures it collides
    with, added after the request; held bookings cannot overlap, the database forbids it) and
    `time_share` (dict or None)."""
    if not queue:
        return queue
    start, end = min(b.start for b in queue), max(b.end for b in queue)
    instrument_ids = {b.instrument_id for b in queue}
    qualified = set(
        current_qualifications()
        .filter(
            user_id__in={b.requester_id for b in queue},
            instrument_id__in=instrument_ids,
        )
        .values_list("user_id", "instrument_id")
    )
    closures = list(
        Closure.objects.filter(
            Q(instrument_id__in=instrument_ids) | Q(instrument__isnull=True),
            facility_id__in={b.instrument.facility_id for b in queue},
            start__lt=end,
            end__gt=start,
        )
    )
    shared = set(TimeShare.objects.filter(instrument_id__in=instrument_ids).values_list("instrument_id", flat=True))
    statuses: dict[tuple[int, object], dict] = {}
    for booking in queue:
        b: Any = booking  # the page's extra attributes are set on it
        snapshot = getattr(b, "rate_snapshot", None)
        rate = snapshot.hourly_rate if snapshot is not None else None  # unpublished: 0, free
        splits = list(b.splits.all())
        b.cost = estimate(rate, b.start, b.end, [s.percent for s in splits])
        if b.cost:
            b.cost["lines"] = list(zip(splits, b.cost["shares"], strict=False))
        b.payers = splits
        b.qualified = (b.requester_id, b.instrument_id) in qualified if b.instrument.requires_qualification else None
        b.closures = [
            c
            for c in closures
            if c.facility_id == b.instrument.facility_id
            and c.instrument_id in (None, b.instrument_id)
            and c.start < b.end
            and c.end > b.start
        ]
        b.time_share = None
        if b.instrument_id in shared:
            q_start, q_end, label = quarter_bounds(b.start)
            key = (b.instrument_id, q_start)
            if key not in statuses:
                statuses[key] = quarter_share_status(b.instrument, q_start, q_end)
            status = statuses[key]
            reserved = status["reserved"].get(b.institution_id)
            b.time_share = {
                "quarter": label,
                "partner": reserved is not None,
                "reserved": _hours(reserved or 0),
                "used": _hours(status["used"].get(b.institution_id, 0)),
                "left": _hours(minutes_left(status, b.institution_id)),
            }
    return queue
