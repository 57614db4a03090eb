"""State changes of a booking. Each one: open a transaction, lock the row, check who may do it and
the model's guard, change it, write the audit entry, tell the layers above, and announce it after commit."""

import datetime as dt
from functools import partial
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from common.errors import Conflict
from facilities.models import User
from facilities.selectors import is_manager_of
from facilities.services import bump_versions

from ..models import Booking, BookingEvent
from ..selectors import bookings_visible_to
from ..signals import booking_transitioned, validate_approval
from .taking import announce

VERBS: dict[str, Any] = {
    Booking.Status.APPROVED: pgettext_lazy("a booking cannot be …", "approved"),
    Booking.Status.REJECTED: pgettext_lazy("a booking cannot be …", "rejected"),
    Booking.Status.CANCELLED: pgettext_lazy("a booking cannot be …", "cancelled"),
    Booking.Status.COMPLETED: pgettext_lazy("a booking cannot be …", "completed"),
    Booking.Status.NO_SHOW: pgettext_lazy("a booking cannot be …", "marked as a no-show"),
}
MAX_REASON_LENGTH = 2000


def _lock_visible(actor: User | None, booking_id: int) -> Booking:
    qs = Booking.objects.all() if actor is None else bookings_visible_to(actor)
    booking = qs.select_for_update(of=("self",)).filter(pk=booking_id).first()
    if booking is None:
        raise Http404(_("No such booking, or you may not see it."))
    return booking


def _may_manage(actor: User | None, booking: Booking) -> bool:
    return actor is None or actor.is_superuser or is_manager_of(actor, booking.instrument.facility_id)


def transition(
    *,
    booking_id: int,
    actor: User | None,
    to: str,
    reason: str = "",
    allowed=_may_manage,
    mutate=None,
    data: dict | None = None,
) -> Booking:
    """The one path for every state change. `actor=None` is the system (periodic tasks)."""
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError(
            {"reason": _("The reason may be at most %(n)d characters long.") % {"n": MAX_REASON_LENGTH}}
        )
    with transaction.atomic():
        booking = _lock_visible(actor, booking_id)
        if not allowed(actor, booking):
            raise PermissionDenied(
                _("You may not change booking #%(id)s: only its facility's managers may.") % {"id": booking.pk}
            )
        if not booking.can_transition(to):
            raise Conflict(
                "invalid_transition",
                _("Booking #%(id)s is %(status)s and cannot be %(verb)s.")
                % {"id": booking.pk, "status": booking.get_status_display().lower(), "verb": VERBS[to]},
            )
        if to == Booking.Status.APPROVED:
            # The layers above may hold an approval back (proposals: a session still blocked).
            validate_approval.send(sender=Booking, booking=booking, actor=actor)
        from_status = booking.status
        was_held = booking.holds_slot
        booking.status = to
        booking.sequence += 1
        if to in (Booking.Status.APPROVED, Booking.Status.REJECTED):
            booking.decided_at, booking.decided_by, booking.decision_reason = timezone.now(), actor, reason
        if to == Booking.Status.CANCELLED:
            booking.cancelled_at = timezone.now()
        if mutate:
            mutate(booking)
        booking.save()
        BookingEvent.objects.create(
            booking=booking, actor=actor, from_status=from_status, to_status=to, reason=reason, data=data or {}
        )
        if was_held != booking.holds_slot or to == Booking.Status.APPROVED:
            bump_versions(instrument_ids=[booking.instrument_id], reason=f"booking_{to}")
        booking_transitioned.send(sender=Booking, booking=booking, from_status=from_status, to_status=to, actor=actor)
        transaction.on_commit(partial(announce, booking, to))
    return booking


def booking_approve(*, actor: User | None, booking_id: int, reason: str = "") -> Booking:
    return transition(booking_id=booking_id, actor=actor, to=Booking.Status.APPROVED, reason=reason)


def booking_reject(*, actor: User | None, booking_id: int, reason: str = "") -> Booking:
    return transition(booking_id=booking_id, actor=actor, to=Booking.Status.REJECTED, reason=reason)


def _requester_or_manager(actor: User | None, booking: Booking) -> bool:
    return actor is not None and booking.requester_id == actor.pk or _may_manage(actor, booking)


def booking_cancel(*, actor: User | None, booking_id: int, reason: str = "") -> Booking:
    """Requester or manager; frees the slot at once."""
    return transition(
        booking_id=booking_id, actor=actor, to=Booking.Status.CANCELLED, reason=reason, allowed=_requester_or_manager
    )


def _check_started(booking: Booking, now: dt.datetime, what: str) -> None:
    if booking.start > now:
        raise Conflict(
            "invalid_transition",
            _("Booking #%(id)s has not started yet, so it cannot be %(verb)s.")
            % {"id": booking.pk, "verb": VERBS[what]},
        )


def booking_complete(
    *,
    actor: User | None,
    booking_id: int,
    actual_start: dt.datetime | None = None,
    actual_end: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Booking:
    """Record that the booking was used, from `actual_start` to `actual_end` (the booked times when omitted)."""
    now = now or timezone.now()
    for name, value in (("actual_start", actual_start), ("actual_end", actual_end)):
        if value is not None and timezone.is_naive(value):
            raise ValidationError({name: _("Times must carry a UTC offset.")})

    def mutate(b: Booking) -> None:
        _check_started(b, now, Booking.Status.COMPLETED)
        b.actual_start = actual_start or b.start
        b.actual_end = actual_end or b.end
        if b.actual_end <= b.actual_start:
            raise ValidationError({"actual_end": _("Actual use must end after it starts.")})
        if b.actual_start > now:
            raise ValidationError({"actual_start": _("Actual use cannot start in the future.")})
        if b.actual_end - b.actual_start > dt.timedelta(days=31):
            raise ValidationError(
                {"actual_end": _("Actual use longer than 31 days is not plausible; check the times.")}
            )

    return transition(
        booking_id=booking_id,
        actor=actor,
        to=Booking.Status.COMPLETED,
        mutate=mutate,
        data={
            "actual_start": actual_start.isoformat() if actual_start else None,
            "actual_end": actual_end.isoformat() if actual_end else None,
        },
    )


def booking_no_show(
    *, actor: User | None, booking_id: int, reason: str = "", now: dt.datetime | None = None
) -> Booking:
    now = now or timezone.now()
    return transition(
        booking_id=booking_id,
        actor=actor,
        to=Booking.Status.NO_SHOW,
        reason=reason,
        mutate=lambda b: _check_started(b, now, Booking.Status.NO_SHOW),
    )
