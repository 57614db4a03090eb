"""Changing who pays a held booking: the split of its cost across the requester's funding accounts.

Checked like the splits of a new request (`resolve_splits`: accounts the requester may charge, active and
valid on the booking's day, percents adding up to 100) and under the same lock, with the same budget and
group-spending hook (`validate_splits`, the booking's own old estimate replaced rather than counted twice).
Only the requester may: the accounts are theirs to charge. Time and state do not change.
"""

from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext

from common.errors import Conflict
from facilities.models import User

from ..holds import lock_for_booking
from ..models import Booking, BookingEvent, BookingSplit
from ..selectors import bookings_visible_to
from ..signals import validate_splits
from .requests import resolve_splits
from .taking import CENT, announce


def _as_data(rows) -> list[dict]:
    return [{"account": account_id, "percent": str(percent)} for account_id, percent in rows]


def booking_change_payers(*, actor: User, booking_id: int, splits: list[dict] | None) -> Booking:
    """Replace the splits of a requested or approved booking with `splits` ([{"account", "percent"}];
    empty: the requester's default account pays all). Raises Http404 (unknown or invisible),
    PermissionDenied (not the requester), ValidationError (an account or percent, a budget),
    Conflict (the booking no longer holds its slot, so its cost is settled by billing)."""
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
        if booking.requester_id != actor.pk:
            raise PermissionDenied(
                gettext("You may not change who pays booking #%(id)s: only its requester may.") % {"id": booking.pk}
            )
        if not booking.holds_slot:
            raise Conflict(
                "invalid_transition",
                gettext("Booking #%(id)s is %(status)s, so who pays it can no longer be changed.")
                % {"id": booking.pk, "status": booking.get_status_display().lower()},
            )
        requester = booking.requester
        specs = resolve_splits(requester=requester, splits=splits, day=timezone.localtime(booking.start).date())
        before = list(booking.splits.order_by("id").values_list("account_id", "percent"))
        after = [(s.account_id, s.percent.quantize(CENT)) for s in specs]
        if sorted(before) == sorted(after):
            raise ValidationError(
                {"splits": gettext("The booking is already paid that way; change an account or a percent.")}
            )
        lock_for_booking(instrument_ids=(), accounts=[s.account for s in specs])
        validate_splits.send(
            sender=Booking,
            requester=requester,
            institution=booking.institution,
            instrument=booking.instrument,
            start=booking.start,
            end=booking.end,
            splits=specs,
            replacing_booking_id=booking.pk,
        )
        # One by one, not a bulk write: each split row is then what any reader of the table sees.
        for split in booking.splits.all():
            split.delete()
        for account_id, percent in after:
            BookingSplit.objects.create(booking=booking, account_id=account_id, percent=percent)
        booking.save(update_fields=["updated_at"])
        BookingEvent.objects.create(
            booking=booking,
            actor=actor,
            from_status=booking.status,
            to_status=booking.status,
            reason="payers_changed",
            data={"from": _as_data(before), "to": _as_data(after)},
        )
        transaction.on_commit(partial(announce, booking, "payers_changed"))
    return booking
