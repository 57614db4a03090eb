"""The waitlist: queue for a slot someone else holds, get offered it when it frees, accept or let it lapse.

An offer is a notice, not a hold: until it is accepted anybody may book the slot, and accepting then
fails with the usual 409. Offers are made under the instrument's lock, first come first served, and
never two outstanding offers for overlapping times, so running the offer step twice (a signal and the
periodic job at once) offers nothing twice.
"""

import datetime as dt
import logging
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.dispatch import receiver
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import Conflict
from common.intervals import merge, overlaps
from facilities.calendar import closed_spans
from facilities.models import Instrument, User

from .. import rules
from ..holds import held_span, lock_for_booking
from ..models import Booking, WaitlistEntry
from ..signals import booking_changed, waitlist_offered
from .requests import booking_request, requester_institution

log = logging.getLogger(__name__)

Status = WaitlistEntry.Status
OPEN_STATUSES = (Status.WAITING, Status.OFFERED)
# Booking events after which a slot may have come free (a no-show frees the rest of its slot).
FREEING_EVENTS = {"cancelled", "rejected", "moved", "no_show"}


def offer_minutes() -> int:
    return int(getattr(settings, "WAITLIST_OFFER_MINUTES", 120))


def entries_visible_to(user) -> QuerySet[WaitlistEntry]:
    """One's own entries; platform admins see all."""
    if not getattr(user, "is_authenticated", False):
        return WaitlistEntry.objects.none()
    qs = WaitlistEntry.objects.select_related("instrument", "instrument__facility", "user")
    return qs if user.is_superuser else qs.filter(user=user)


def waitlist_join(
    *, user: User, instrument: Instrument, start: dt.datetime, end: dt.datetime, now: dt.datetime | None = None
) -> WaitlistEntry:
    """Queue for [start, end) on `instrument`, which someone else must hold now."""
    now = now or timezone.now()
    requester_institution(user)  # only researchers book, so only they wait
    rules.check_static_rules(instrument=instrument, start=start, end=end, now=now)
    rules.check_qualification(instrument=instrument, requester=user)
    with transaction.atomic():
        lock_for_booking(instrument_ids=[instrument.pk])
        if not Booking.objects.conflicts(instrument, start, end):
            raise ValidationError(_("That time is free: book it instead of joining the waitlist."))
        if Booking.objects.holding([instrument.pk], *held_span(instrument, start, end)).filter(requester=user).exists():
            raise ValidationError(_("You already hold part of that time yourself."))
        if WaitlistEntry.objects.filter(
            instrument=instrument, user=user, status__in=OPEN_STATUSES, start=start, end=end
        ).exists():
            raise Conflict("already_waiting", _("You are already on the waitlist for that time."))
        return WaitlistEntry.objects.create(instrument=instrument, user=user, start=start, end=end)


def _held_around(instrument: Instrument, entries: list[WaitlistEntry]) -> tuple[list, dt.datetime, dt.datetime]:
    """Held spans around the entries, read once per instrument, so a sweep costs a few queries per
    instrument rather than per entry."""
    lo = min(e.start for e in entries)
    hi = max(held_span(instrument, e.start, e.end)[1] for e in entries)
    held = Booking.objects.holding([instrument.pk], lo, hi).values_list("start", "hold_end")
    return merge(held), lo, hi


def rest_start(instrument: Instrument, start: dt.datetime, now: dt.datetime) -> dt.datetime:
    """Where a slot that has already begun can still be booked: the first boundary of the instrument's
    booking unit at or after `now` (units count from local midnight, as booking.rules does); `start`
    itself while it lies ahead."""
    if start >= now:
        return start
    unit = dt.timedelta(minutes=instrument.booking_unit_minutes or 1)
    local = timezone.localtime(now)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    steps = -((midnight - local) // unit)  # ceil((local - midnight) / unit)
    return midnight + steps * unit


def offer_next(*, instrument_id: int, now: dt.datetime | None = None) -> list[WaitlistEntry]:
    """Expire lapsed offers on one instrument, then offer each waiting entry, in order of joining, whose
    span is entirely free and clear of every outstanding offer. Returns the entries offered now."""
    now = now or timezone.now()
    offered: list[WaitlistEntry] = []
    with transaction.atomic():
        lock_for_booking(instrument_ids=[instrument_id])
        instrument = Instrument.objects.select_related("facility").filter(pk=instrument_id).first()
        if instrument is None:
            return []
        entries = list(
            WaitlistEntry.objects.select_for_update()
            .filter(instrument_id=instrument_id, status__in=OPEN_STATUSES)
            .order_by("created_at", "id")
        )
        outstanding: list[tuple[dt.datetime, dt.datetime]] = []
        for entry in entries:
            lapsed = (
                entry.status == Status.OFFERED and entry.offer_expires_at is not None and entry.offer_expires_at <= now
            )
            # A waiting entry whose slot has begun is still offered the rest of it (after a no-show).
            too_late = entry.status == Status.WAITING and rest_start(instrument, entry.start, now) >= entry.end
            if lapsed or too_late:
                entry.status = Status.EXPIRED
                entry.save(update_fields=["status"])
            elif entry.status == Status.OFFERED:
                outstanding.append((entry.start, entry.end))
        waiting = [e for e in entries if e.status == Status.WAITING]
        held, lo, hi = _held_around(instrument, waiting) if waiting else ([], now, now)
        closed = None  # read only once some entry gets past the held slots: the sweep's common case is "still held"
        for entry in waiting:
            begun = entry.start < now
            if begun:
                entry.start = rest_start(instrument, entry.start, now)
            if any(overlaps((entry.start, entry.end), span) for span in outstanding):
                continue
            # The entry's own changeover buffer must be free too, as it would be for a booking.
            if any(overlaps(held_span(instrument, entry.start, entry.end), span) for span in held):
                continue
            if closed is None:
                closed = closed_spans(instrument, lo, hi)
            if any(overlaps((entry.start, entry.end), span) for span in closed):
                continue
            entry.status = Status.OFFERED
            entry.offered_at = now
            # An offer cannot outlive the slot it offers (the rest of a begun one: until it ends).
            last = entry.end if begun else entry.start
            entry.offer_expires_at = min(now + dt.timedelta(minutes=offer_minutes()), last)
            entry.save(update_fields=["status", "offered_at", "offer_expires_at", "start"])
            outstanding.append((entry.start, entry.end))
            offered.append(entry)
            transaction.on_commit(
                partial(
                    waitlist_offered.send,
                    sender=WaitlistEntry,
                    entry_id=entry.pk,
                    user_id=entry.user_id,
                    instrument_id=instrument_id,
                    start=entry.start,
                    end=entry.end,
                    expires_at=entry.offer_expires_at,
                )
            )
    return offered


def waitlist_expire_offers(now: dt.datetime | None = None) -> dict[str, int]:
    """The periodic sweep: lapsed offers become EXPIRED and the next in line is offered, on every
    instrument with an open entry (which also catches a freed slot whose signal was missed).
    Idempotent: a second run at the same moment changes nothing."""
    now = now or timezone.now()
    before = WaitlistEntry.objects.filter(status=Status.EXPIRED).count()
    offered = 0
    instrument_ids = (
        WaitlistEntry.objects.filter(status__in=OPEN_STATUSES).values_list("instrument_id", flat=True).distinct()
    )
    for instrument_id in sorted(set(instrument_ids)):
        offered += len(offer_next(instrument_id=instrument_id, now=now))
    return {"expired": WaitlistEntry.objects.filter(status=Status.EXPIRED).count() - before, "offered": offered}


def _lock_own(user: User, entry_id: int) -> WaitlistEntry:
    """Lock the instrument, then the entry (the order offer_next takes). Inside a transaction."""
    instrument_id = entries_visible_to(user).filter(pk=entry_id).values_list("instrument_id", flat=True).first()
    if instrument_id is None:
        raise Http404(_("No such waitlist entry, or it is not yours."))
    lock_for_booking(instrument_ids=[instrument_id])
    return (
        WaitlistEntry.objects.select_for_update().select_related("instrument", "instrument__facility").get(pk=entry_id)
    )


def waitlist_accept(
    *,
    user: User,
    entry_id: int,
    purpose: str = "",
    splits: list[dict] | None = None,
    now: dt.datetime | None = None,
) -> tuple[WaitlistEntry, Booking]:
    """Book an offered slot through the normal request path (every rule applies)."""
    now = now or timezone.now()
    with transaction.atomic():
        entry = _lock_own(user, entry_id)
        if entry.user_id != user.pk:
            raise Http404(_("No such waitlist entry, or it is not yours."))
        if entry.status != Status.OFFERED:
            raise Conflict(
                "not_offered",
                _("Waitlist entry #%(pk)s is %(status)s, not offered; there is nothing to accept.")
                % {"pk": entry.pk, "status": entry.get_status_display().lower()},
            )
        if entry.offer_expires_at is None or entry.offer_expires_at <= now:
            raise Conflict(
                "offer_expired",
                _("The offer for waitlist entry #%(pk)s expired at %(localtime)s.")
                % {"pk": entry.pk, "localtime": format(timezone.localtime(entry.offer_expires_at), "%Y-%m-%d %H:%M")},
            )
        booking = booking_request(
            requester=user,
            instrument=entry.instrument,
            start=rest_start(entry.instrument, entry.start, now),
            end=entry.end,
            purpose=purpose,
            splits=splits,
            now=now,
        )
        entry.status = Status.ACCEPTED
        entry.save(update_fields=["status"])
    return entry, booking


def waitlist_withdraw(*, user: User, entry_id: int, now: dt.datetime | None = None) -> WaitlistEntry:
    with transaction.atomic():
        entry = _lock_own(user, entry_id)
        if entry.user_id != user.pk and not user.is_superuser:
            raise Http404(_("No such waitlist entry, or it is not yours."))
        if entry.status not in OPEN_STATUSES:
            raise Conflict(
                "invalid_transition",
                _("Waitlist entry #%(pk)s is %(status)s and cannot be withdrawn.")
                % {"pk": entry.pk, "status": entry.get_status_display().lower()},
            )
        was_offered = entry.status == Status.OFFERED
        entry.status = Status.WITHDRAWN
        entry.save(update_fields=["status"])
        if was_offered:
            # A declined offer passes to the next in line.
            transaction.on_commit(partial(_offer_quietly, entry.instrument_id, now))
    return entry


def _offer_quietly(instrument_id: int, now: dt.datetime | None = None) -> None:
    # Runs after a commit that is already done: a failure here must not turn the caller's success into
    # an error. The periodic sweep offers whatever is missed.
    try:
        offer_next(instrument_id=instrument_id, now=now)
    except Exception:
        log.exception(
            "Offering waitlisted slots on instrument %s failed; the periodic sweep will retry.", instrument_id
        )


@receiver(booking_changed, dispatch_uid="waitlist_offer_on_free")
def _on_booking_changed(sender, instrument_id, event, **kwargs):
    if event in FREEING_EVENTS:
        _offer_quietly(instrument_id)
