"""Held bookings put in closed time by a change of the catalog's calendar.

facilities sends `calendar_changed` after a closure, new operating hours or a year's public holidays
have committed; booking/calendar_receivers.py hears it and runs `flag_held_bookings` as a task
(booking may know facilities, never the reverse). Every held
booking of those instruments in the changed span whose time is now (partly) closed is flagged, once,
and its requester and the facility's managers are told (mail, and the booking event `flagged` on
/ws/me/ and /ws/queue/). Nothing else happens to the booking until a manager decides:

- keep it: the facility will serve it anyway (the flag closes; a later, different change may flag it again);
- move it: `booking_move` as the manager, with every rule checked for the new time (so not into closed time);
- cancel it: `booking_cancel` by the manager, which is a cancellation by the facility and so costs the
  requester nothing (billing charges a late-cancellation fee only when the requester cancels).

Lock order follows the booking path: instrument, then booking, then the flag row (a conditional
UPDATE on `status='open'`, so two managers deciding at once cannot both win).
"""

import datetime as dt
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from common.errors import Conflict
from common.intervals import overlaps
from facilities.calendar import closed_spans_many, closure_causes, describe_cause
from facilities.models import User
from facilities.selectors import is_manager_of

from ..holds import HELD_STATUSES
from ..models import Booking, BookingEvent, CalendarFlag
from ..selectors import bookings_visible_to
from ..signals import booking_transitioned, calendar_flag_changed
from .moves import booking_move
from .taking import announce
from .transitions import MAX_REASON_LENGTH, booking_cancel

Status = CalendarFlag.Status


def closed_cause(booking: Booking) -> dict | None:
    """Why the booking's time is (partly) closed now, as data (`facilities.calendar.closure_causes`), or
    None when all of it is open. Stored on the flag as a code and parameters, so every reader gets the
    sentence in their own language."""
    span = (booking.start, booking.end)
    causes = [cause for s, cause in closure_causes(booking.instrument, *span) if overlaps(s, span)]
    return causes[0] if causes else None


def flag_held_bookings(
    *, instrument_ids: list[int], start: dt.datetime, end: dt.datetime, cause: str, now: dt.datetime | None = None
) -> list[CalendarFlag]:
    """Flag every held booking of these instruments overlapping [start, end), not yet ended, whose time
    is now closed. Idempotent: a booking with an open flag is left alone, and one the facility kept is
    flagged again only for a different reason."""
    now = now or timezone.now()
    lower = max(start, now)
    if lower >= end:
        return []
    candidates = (
        Booking.objects.filter(instrument_id__in=instrument_ids, status__in=HELD_STATUSES, start__lt=end, end__gt=lower)
        .exclude(calendar_flags__status=Status.OPEN)
        .select_related("instrument", "instrument__facility")
        .order_by("start", "pk")
    )
    bookings = list(candidates)
    if not bookings:
        return []
    # Where each instrument is closed, read once for the span the bookings cover (a few queries whatever
    # their number); the reason in words is worked out only for the bookings that meet closed time.
    instruments = list({b.instrument_id: b.instrument for b in bookings}.values())
    closed = closed_spans_many(instruments, min(b.start for b in bookings), max(b.end for b in bookings))
    flags = []
    for booking in bookings:
        if not any(overlaps(span, (booking.start, booking.end)) for span in closed[booking.instrument_id]):
            continue
        why = closed_cause(booking)
        if why is None:
            continue
        with translation.override("en"):
            reason = describe_cause(why)[:500]  # the English record, also what "kept for this" compares
        code, params = why["kind"], {k: v for k, v in why.items() if k != "kind"}
        if CalendarFlag.objects.filter(booking=booking, status=Status.KEPT, reason=reason).exists():
            continue  # the facility already chose to serve it despite exactly this
        try:
            with transaction.atomic():
                flag = CalendarFlag.objects.create(
                    booking=booking, cause=cause[:32], reason=reason, reason_code=code, reason_params=params
                )
        except IntegrityError:
            continue  # flagged by a concurrent run
        transaction.on_commit(partial(_announce_flag, booking, flag.pk, "flagged"))
        flags.append(flag)
    return flags


def _announce_flag(booking: Booking, flag_id: int, event: str) -> None:
    """After commit: the booking event on the live channels (booking_changed), and calendar_flag_changed,
    on which the notifications mail the requester and the managers (flagged) or the requester (kept)."""
    announce(booking, event)
    calendar_flag_changed.send(sender=CalendarFlag, flag_id=flag_id, booking_id=booking.pk, event=event)


@receiver(booking_transitioned, dispatch_uid="booking_flags_settled")
def _settle_when_released(sender, booking, to_status, **kwargs) -> None:
    """A flagged booking that stops holding its time (cancelled by its requester, rejected, expired)
    needs no decision any more."""
    if to_status not in HELD_STATUSES:
        CalendarFlag.objects.filter(booking=booking, status=Status.OPEN).update(
            status=Status.SETTLED, resolved_at=timezone.now()
        )


# --- the facility's decision --------------------------------------------------------------------------


def _flag_for(actor: User, flag_id: int) -> CalendarFlag:
    """The flag, when `actor` may decide it: only managers of the booking's facility (and platform
    administrators). 404 when the actor may not even see the booking."""
    flag = CalendarFlag.objects.select_related("booking", "booking__instrument").filter(pk=flag_id).first()
    if flag is None or not bookings_visible_to(actor).filter(pk=flag.booking_id).exists():
        raise Http404(_("No such flag, or you may not see it."))
    if not (actor.is_superuser or is_manager_of(actor, flag.booking.instrument.facility_id)):
        raise PermissionDenied(_("Only the facility's managers may decide about a booking in closed time."))
    if flag.status != Status.OPEN:
        raise Conflict(
            "flag_decided", _("This flag is %(status)s already.") % {"status": flag.get_status_display().lower()}
        )
    return flag


def _close(flag: CalendarFlag, status: str, actor: User, note: str) -> None:
    """Inside the decision's transaction, after the booking's own locks: the flag's one conditional UPDATE."""
    done = CalendarFlag.objects.filter(pk=flag.pk, status=Status.OPEN).update(
        status=status, resolved_by=actor, resolved_at=timezone.now(), note=note
    )
    if not done:
        raise Conflict("flag_decided", _("Another manager has decided about this booking meanwhile."))
    flag.status = status


def _check_note(note: str) -> None:
    if len(note) > MAX_REASON_LENGTH:
        raise ValidationError(
            {
                "reason": _("The reason may be at most %(max_reason_length)s characters long.")
                % {"max_reason_length": MAX_REASON_LENGTH}
            }
        )


def flag_keep(*, actor: User, flag_id: int, note: str = "") -> CalendarFlag:
    """The facility serves the booking as booked despite the closed time."""
    _check_note(note)
    flag = _flag_for(actor, flag_id)
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=flag.booking_id)
        if booking.status not in HELD_STATUSES:
            raise Conflict("invalid_transition", _("Booking #%(pk)s no longer holds its time.") % {"pk": booking.pk})
        _close(flag, Status.KEPT, actor, note)
        BookingEvent.objects.create(
            booking=booking,
            actor=actor,
            from_status=booking.status,
            to_status=booking.status,
            reason=note or "kept despite the calendar change",
            data={"calendar_flag": flag.pk, "decision": "kept", "closed": flag.reason},
        )
        transaction.on_commit(partial(_announce_flag, booking, flag.pk, "kept"))
    return flag


def flag_move(*, actor: User, flag_id: int, start: dt.datetime, end: dt.datetime, note: str = "") -> CalendarFlag:
    """Move the booking to [start, end), checked like any move by a manager (every rule; the slot)."""
    _check_note(note)
    flag = _flag_for(actor, flag_id)
    with transaction.atomic():
        booking_move(actor=actor, booking_id=flag.booking_id, start=start, end=end)
        _close(flag, Status.MOVED, actor, note)
    return flag


def flag_cancel(*, actor: User, flag_id: int, note: str = "") -> CalendarFlag:
    """Cancel the booking as the facility: no late-cancellation fee, the requester is told."""
    _check_note(note)
    flag = _flag_for(actor, flag_id)
    with transaction.atomic():
        Booking.objects.select_for_update().filter(pk=flag.booking_id).first()
        _close(flag, Status.CANCELLED, actor, note)  # before the transition, which settles open flags
        booking_cancel(actor=actor, booking_id=flag.booking_id, reason=note or "the facility is closed then")
    return flag


def flags_visible_to(user: User):
    """Flags of the bookings the user may see: a requester's own, a manager's facilities', all for a
    platform administrator."""
    visible = bookings_visible_to(user).values("pk")
    return CalendarFlag.objects.filter(booking__in=visible)
