"""Moving a held booking to another time on the same instrument.

A move is checked exactly like a new request (every rule, the time share, the conflicts), except that
the booking does not conflict with or count against itself. Moving an approved booking of an
instrument that needs approval sends it back to `requested` when its requester moves it: the manager
approved the old time, not the new one. A manager's own move keeps the approval.
"""

import datetime as dt
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext

from common.errors import Conflict
from common.time import iso_local
from facilities.models import User
from facilities.selectors import is_manager_of
from facilities.services import bump_versions

from .. import rules
from ..holds import held_span, lock_for_booking, slot_unavailable
from ..models import Booking, BookingEvent
from ..selectors import bookings_visible_to
from ..signals import booking_transitioned, validate_splits
from .quotas import check_group_limits
from .requests import initial_status, resolve_splits
from .taking import announce, save_holding
from .time_shares import check_time_share


def _is_manager(actor: User, booking: Booking) -> bool:
    return actor.is_superuser or is_manager_of(actor, booking.instrument.facility_id)


def booking_move(
    *, actor: User, booking_id: int, start: dt.datetime, end: dt.datetime, now: dt.datetime | None = None
) -> Booking:
    """Move a requested or approved booking to [start, end). Its requester or its facility's managers
    may. Raises Http404 (unknown or invisible), PermissionDenied, ValidationError (a rule), Conflict
    (slot taken, or the booking no longer holds a slot)."""
    now = now or timezone.now()
    rules.check_times(start, end)
    visible = bookings_visible_to(actor)
    instrument_id = visible.filter(pk=booking_id).values_list("instrument_id", flat=True).first()
    if instrument_id is None:
        raise Http404(gettext("No such booking, or you may not see it."))
    with transaction.atomic():
        # Instrument, then the booking, then its capped accounts: the order every writer takes.
        lock_for_booking(instrument_ids=[instrument_id])
        booking = visible.select_for_update(of=("self",)).filter(pk=booking_id).first()
        if booking is None:
            raise Http404(gettext("No such booking, or you may not see it."))
        instrument = booking.instrument
        manager = _is_manager(actor, booking)
        if not manager and booking.requester_id != actor.pk:
            raise PermissionDenied(
                gettext("You may not move booking #%(id)s: only its requester or the facility's managers may.")
                % {"id": booking.pk}
            )
        if not booking.holds_slot:
            raise Conflict(
                "invalid_transition",
                gettext("Booking #%(id)s is %(status)s and cannot be moved.")
                % {"id": booking.pk, "status": booking.get_status_display().lower()},
            )
        if (start, end) == (booking.start, booking.end):
            raise ValidationError(gettext("The booking already has that time; give a different start or end."))
        requester = booking.requester
        rules.check_static_rules(instrument=instrument, start=start, end=end, now=now)
        rules.check_qualification(instrument=instrument, requester=requester)
        # The same accounts pay; they must still be chargeable and valid on the new day.
        current = [{"account": s.account_id, "percent": str(s.percent)} for s in booking.splits.all()]
        specs = resolve_splits(requester=requester, splits=current, day=timezone.localtime(start).date())
        lock_for_booking(instrument_ids=(), accounts=[s.account for s in specs])
        validate_splits.send(
            sender=Booking,
            requester=requester,
            institution=booking.institution,
            instrument=instrument,
            start=start,
            end=end,
            splits=specs,
            replacing_booking_id=booking.pk,
        )
        check_group_limits(instrument=instrument, requester=requester, start=start, end=end, exclude_ids=[booking.pk])
        check_time_share(
            instrument=instrument, institution=booking.institution, start=start, end=end, exclude_ids=[booking.pk]
        )
        conflicts = Booking.objects.conflicts(instrument, start, end, exclude_ids=[booking.pk])
        if conflicts:
            raise slot_unavailable(instrument, conflicts)

        old = [iso_local(booking.start), iso_local(booking.end)]
        from_status = booking.status
        booking.start, booking.end = start, end
        _, booking.hold_end = held_span(instrument, start, end)
        booking.sequence += 1
        if (
            not manager
            and from_status == Booking.Status.APPROVED
            and initial_status(instrument=instrument, requester=requester, institution=booking.institution)
            == Booking.Status.REQUESTED
        ):
            booking.status = Booking.Status.REQUESTED
            booking.decided_at = booking.decided_by = None
            booking.decision_reason = ""
        save_holding(booking, instrument, exclude_ids=[booking.pk])
        BookingEvent.objects.create(
            booking=booking,
            actor=actor,
            from_status=from_status,
            to_status=booking.status,
            reason="moved",
            data={"from": old, "to": [iso_local(start), iso_local(end)]},
        )
        bump_versions(instrument_ids=[instrument.pk], reason="booking_moved")
        if booking.status != from_status:
            booking_transitioned.send(
                sender=Booking, booking=booking, from_status=from_status, to_status=booking.status, actor=actor
            )
        transaction.on_commit(partial(announce, booking, "moved"))
    return booking
