"""The periodic work of actual use (usage.tasks, scheduled in config/settings.py): closing sessions
whose heartbeats stopped, and releasing bookings nobody checked in to. Both select "everything due by
now", so a missed run is made up by the next, and each item goes through a locking service."""

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from booking.holds import lock_for_booking
from booking.models import Booking
from booking.services import booking_no_show
from common.errors import Conflict

from ..models import AgentNonce, EndedBy, Source, UsageSession, UsageSettings
from .agent import max_skew
from .sessions import announce_use

log = logging.getLogger(__name__)

NO_SHOW_REASON = "Nobody checked in within {minutes} minutes of the start."


def close_silent_sessions(*, now: dt.datetime | None = None) -> int:
    """Close each open agent session whose last heartbeat is older than its instrument's timeout, at that
    last heartbeat. Late events that arrive afterwards rebuild it (agent.rebuild)."""
    now = now or timezone.now()
    closed = 0
    open_ids = UsageSession.objects.filter(source=Source.AGENT, end__isnull=True).values_list(
        "pk", "instrument_id", "last_seen"
    )
    timeouts: dict[int, int] = {}
    for pk, instrument_id, last_seen in list(open_ids):
        if instrument_id not in timeouts:
            timeouts[instrument_id] = UsageSettings.for_instrument(instrument_id).heartbeat_timeout_minutes
        if now - last_seen <= dt.timedelta(minutes=timeouts[instrument_id]):
            continue
        with transaction.atomic():
            lock_for_booking(instrument_ids=[instrument_id])
            done = UsageSession.objects.filter(pk=pk, end__isnull=True, last_seen=last_seen).update(
                end=F("last_seen"), ended_by=EndedBy.HEARTBEAT
            )
            if done:
                announce_use(instrument_id=instrument_id, reason="usage_stopped")
                closed += done
    # Nonces are needed only while their request's timestamp would still be accepted.
    AgentNonce.objects.filter(received_at__lt=now - 2 * max_skew()).delete()
    return closed


def no_show_candidates(now: dt.datetime, booking_id: int | None = None) -> list[tuple[int, int, int]]:
    """(booking id, instrument id, minutes) of approved bookings, on instruments that release no-shows, whose grace time
    has passed with no use recorded."""
    settings_rows = UsageSettings.objects.filter(no_show_after_minutes__isnull=False).values_list(
        "instrument_id", "no_show_after_minutes"
    )
    found: list[tuple[int, int, int]] = []
    # Checked in: use linked to the booking, or the requester's own use of the instrument that ran into
    # the booking's start (a walk-up begun before the check-in window opened).
    used = UsageSession.objects.filter(booking_id=OuterRef("pk"))
    ran_into = UsageSession.objects.filter(
        instrument_id=OuterRef("instrument_id"),
        user_id=OuterRef("requester_id"),
        start__lte=OuterRef("start"),
    ).filter(Q(end__isnull=True) | Q(end__gt=OuterRef("start")))
    for instrument_id, grace in settings_rows:
        minutes = int(grace or 0)
        bookings = Booking.objects.all() if booking_id is None else Booking.objects.filter(pk=booking_id)
        ids = (
            bookings.filter(
                instrument_id=instrument_id,
                status=Booking.Status.APPROVED,
                start__lte=now - dt.timedelta(minutes=minutes),
            )
            .filter(~Exists(used), ~Exists(ran_into))
            .order_by("start", "pk")
            .values_list("pk", flat=True)
        )
        found.extend((pk, instrument_id, minutes) for pk in ids)
    return found


def release_no_shows(*, now: dt.datetime | None = None) -> int:
    """Mark each such booking a no-show through the booking state machine: the rest of its slot is free at
    once (the availability version rises, open calendars update, the waitlist is offered it) and
    billing's no-show policy charges it."""
    now = now or timezone.now()
    released = 0
    for pk, instrument_id, minutes in no_show_candidates(now):
        try:
            with transaction.atomic():
                # The lock a check-in takes: a check-in and the release cannot interleave.
                lock_for_booking(instrument_ids=[instrument_id])
                if not no_show_candidates(now, booking_id=pk):
                    continue  # checked in since the query
                booking_no_show(actor=None, booking_id=pk, reason=NO_SHOW_REASON.format(minutes=minutes), now=now)
            released += 1
        except Conflict:
            pass  # completed or cancelled since the query
        except Exception:
            log.exception("Could not release booking #%s as a no-show", pk)
    return released
