"""Billing's answers to the booking layer's hooks (connected in BillingConfig.ready)."""

from django.utils import timezone

from booking.models import Booking
from usage.models import ViolationKind
from usage.services.violations import violation_record

from .models import Charge, ChargeKind
from .services.budget import check_group_spending, check_splits
from .services.charges import charge_booking, charge_recompute, charges_late_cancellation, is_invoiced
from .services.rates import snapshot_rate


def on_validate_splits(
    sender, *, requester, institution, instrument, start, end, splits, replacing_booking_id=None, **kwargs
) -> None:
    # Sent under the booking layer's lock on the capped accounts (booking.holds.lock_for_booking), so two
    # bookings cannot both spend the same remaining budget. A move replaces its own booking's estimate
    # rather than adding a second one.
    check_splits(
        institution=institution,
        instrument=instrument,
        start=start,
        end=end,
        splits=splits,
        exclude_booking_id=replacing_booking_id,
    )
    check_group_spending(
        requester=requester,
        institution=institution,
        instrument=instrument,
        start=start,
        end=end,
        splits=splits,
        exclude_booking_id=replacing_booking_id,
    )


def on_booking_created(sender, *, booking: Booking, splits=None, **kwargs) -> None:
    snapshot_rate(booking=booking, new_booking=True)


def on_booking_transitioned(
    sender, *, booking: Booking, from_status: str, to_status: str, actor=None, **kwargs
) -> None:
    if to_status == Booking.Status.COMPLETED:
        charge_booking(booking=booking, kind=ChargeKind.USAGE)
    elif to_status == Booking.Status.NO_SHOW:
        charge_booking(booking=booking, kind=ChargeKind.NO_SHOW)
    elif to_status == Booking.Status.CANCELLED and charges_late_cancellation(
        booking=booking, from_status=from_status, actor=actor, cancelled_at=booking.cancelled_at or timezone.now()
    ):
        charge_booking(booking=booking, kind=ChargeKind.LATE_CANCELLATION)
        # Late by billing's policy, so billing tells usage, which counts violations.
        violation_record(booking=booking, kind=ViolationKind.LATE_CANCELLATION)


def on_use_corrected(sender, *, booking_ids, **kwargs) -> None:
    """A manager corrected recorded use: charge again what was charged by use and is not yet invoiced
    (an invoiced charge is corrected with a credit note, by finance)."""
    for charge in Charge.objects.filter(booking_id__in=booking_ids, kind=ChargeKind.USAGE):
        if not is_invoiced(charge):
            charge_recompute(booking_id=charge.booking_id)
