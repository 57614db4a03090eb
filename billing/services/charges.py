"""Computing a booking's charge when it ends: the fee, the host's subsidy, the voucher's part and one
charge line per payer. Runs inside the booking's transaction (via the hooks in billing.receivers), so
the charge commits or rolls back with the transition."""

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.models import Booking
from common.time import local_tz
from facilities.selectors import is_manager_of
from usage.selectors import booking_use

from ..models import (
    Charge,
    ChargeKind,
    ChargeLine,
    ChargePolicy,
    HostSubsidy,
    InternalTransfer,
    InvoiceLine,
    RateSnapshot,
    VoucherMode,
)
from ..periods import period_of
from .allocation import Share, VoucherTerms, allocate
from .fees import fee_for, subsidy_for
from .rates import published_rate, snapshot_rate, user_class_for
from .vouchers import draw, give_back_charge, lock_voucher

log = logging.getLogger(__name__)


def _minutes(start: dt.datetime, end: dt.datetime) -> int:
    return int((end - start).total_seconds() // 60)


def subsidy_percent(*, facility_id: int, partner_id: int, day: dt.date) -> Decimal:
    """The largest subsidy the facility grants the partner on that day (0 when none)."""
    percents = HostSubsidy.objects.filter(
        facility_id=facility_id, partner_id=partner_id, valid_from__lte=day, valid_until__gte=day
    ).values_list("percent", flat=True)
    return max(percents, default=Decimal("0"))


def _shares(booking: Booking) -> list[Share]:
    rows = list(booking.splits.order_by("id").values_list("account_id", "account__institution_id", "percent"))
    # Without splits the requester's default account pays all (no query when there is none).
    account = None if rows else booking.requester.default_account
    if account is not None:
        rows = [(account.pk, account.institution_id, Decimal("100"))]
    return [Share(a, i, p) for a, i, p in rows]


def charge_booking(*, booking: Booking, kind: str) -> Charge | None:
    """Compute and store the booking's charge (once: an existing charge is returned unchanged).
    Must run inside a transaction. Returns None when there is nothing to charge."""
    existing = Charge.objects.filter(booking_id=booking.pk).first()
    if existing is not None:
        return existing
    snapshot = snapshot_rate(booking=booking)
    policy = ChargePolicy.for_instrument(booking.instrument_id)
    use = booking_use(booking) if kind == ChargeKind.USAGE else None  # one source of used time: usage
    booked_minutes = _minutes(booking.start, booking.end)
    fee = fee_for(
        kind=kind,
        policy=policy,
        rate=snapshot.hourly_rate,
        published=snapshot.published,
        booked_minutes=booked_minutes,
        actual_minutes=use.used_minutes if use else None,
        overrun_minutes=use.overrun_minutes if use else 0,
    )
    if kind != ChargeKind.USAGE and fee.gross <= 0:
        return None
    shares = _shares(booking)
    if not shares:
        log.warning("Booking #%s has no account to charge; no charge recorded.", booking.pk)
        return None
    facility = booking.instrument.facility
    day = timezone.localtime(booking.start, local_tz()).date()
    sub_pct = subsidy_percent(facility_id=facility.pk, partner_id=booking.institution_id, day=day)
    subsidy = subsidy_for(fee.gross, sub_pct)
    amount = fee.gross - subsidy
    taken = (
        lock_voucher(holder_ids={s.institution_id for s in shares}, facility=facility, day=day) if amount > 0 else None
    )
    voucher = taken.voucher if taken else None
    terms = VoucherTerms(voucher.holder_id, voucher.rate, taken.limit) if taken and voucher else None
    allocation = allocate(amount, shares, terms)
    # 通兑: the authority is invoiced for the covered part. 通用: the company pays its shares in full and
    # claims the covered part back from the authority (a VoucherRedemption, no charge line).
    billed_to_agency = voucher is not None and voucher.mode == VoucherMode.TONGDUI
    account_amounts = allocation.account_amounts if billed_to_agency else allocate(amount, shares).account_amounts
    period = period_of(booking.start)
    charge = Charge.objects.create(
        booking=booking,
        kind=kind,
        period=period,
        instrument_id=booking.instrument_id,
        facility=facility,
        issuer_id=facility.host_id,
        requester_institution_id=booking.institution_id,
        user_class=snapshot.user_class,
        hourly_rate=snapshot.hourly_rate,
        billing_model=policy.billing_model,
        minutes=fee.minutes,
        booked_minutes=booked_minutes,
        used_minutes=use.used_minutes if use else None,
        overrun_minutes=use.overrun_minutes if use else 0,
        gross=fee.gross,
        subsidy_percent=sub_pct if subsidy else Decimal("0"),
        subsidy=subsidy,
        amount=amount,
        voucher=voucher if allocation.voucher_amount else None,
        voucher_amount=allocation.voucher_amount,
    )
    institution_of = {s.account_id: s.institution_id for s in shares}
    lines = [
        ChargeLine(
            charge=charge,
            booking=booking,
            account_id=s.account_id,
            payer_id=institution_of[s.account_id],
            issuer_id=facility.host_id,
            period=period,
            user_class=snapshot.user_class,
            percent=s.percent,
            amount=part,
        )
        for s, part in zip(shares, account_amounts, strict=True)
    ]
    if taken is not None and voucher is not None and allocation.voucher_amount:
        draw(charge=charge, taken=taken, amount=allocation.voucher_amount)
    if billed_to_agency and voucher is not None and allocation.voucher_amount:
        lines.append(
            ChargeLine(
                charge=charge,
                booking=booking,
                voucher=voucher,
                payer_id=voucher.agency_id,
                issuer_id=facility.host_id,
                period=period,
                user_class=snapshot.user_class,
                percent=voucher.rate,
                amount=allocation.voucher_amount,
            )
        )
    ChargeLine.objects.bulk_create(lines)
    return charge


def is_invoiced(charge: Charge) -> bool:
    """Whether any line of the charge is on an invoice or was settled by internal transfer."""
    return (
        InvoiceLine.objects.filter(charge_line__charge=charge).exists()
        or InternalTransfer.objects.filter(charge_line__charge=charge).exists()
    )


def charge_recompute(*, booking_id: int) -> Charge | None:
    """Compute a charge again from the current policies, subsidies and vouchers (e.g. after a policy was
    corrected). Refused once any of its lines is on an invoice: then corrections are credit notes."""
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("instrument__facility", "institution", "requester")
            .get(pk=booking_id)
        )
        charge = Charge.objects.filter(booking=booking).first()
        if charge is None:
            kind = kind_for_status(booking)
            return charge_booking(booking=booking, kind=kind) if kind else None
        if is_invoiced(charge):
            raise ValidationError(
                _(
                    "The charge of booking #%(pk)s is already invoiced or settled; correct "
                    "it with a credit note or in the institution's books instead."
                )
                % {"pk": booking.pk}
            )
        kind = charge.kind
        give_back_charge(charge)
        charge.lines.all().delete()
        charge.delete()
        return charge_booking(booking=booking, kind=kind)


def kind_for_status(booking: Booking) -> str | None:
    if booking.status == Booking.Status.COMPLETED:
        return ChargeKind.USAGE
    if booking.status == Booking.Status.NO_SHOW:
        return ChargeKind.NO_SHOW
    return None


def is_late_cancellation(*, booking: Booking, cancelled_at: dt.datetime) -> bool:
    policy = ChargePolicy.for_instrument(booking.instrument_id)
    return cancelled_at >= booking.start - dt.timedelta(hours=policy.late_cancel_hours)


def by_facility(actor, booking: Booking) -> bool:
    """The facility (its managers, or platform admins) acts: a facility cancelling its own slot charges nobody."""
    return actor is not None and (actor.is_superuser or is_manager_of(actor, booking.instrument.facility_id))


def charges_late_cancellation(*, booking: Booking, from_status: str, actor, cancelled_at: dt.datetime) -> bool:
    """The one rule for a late-cancellation fee: an approved booking cancelled by someone other than the
    facility, less than the policy's hours before its start."""
    return (
        from_status == Booking.Status.APPROVED
        and not by_facility(actor, booking)
        and is_late_cancellation(booking=booking, cancelled_at=cancelled_at)
    )


@dataclass(frozen=True)
class LateCancellationQuote:
    """What cancelling a booking now would cost: `amount` (0 when no fee applies) after the host's subsidy,
    before any innovation voucher; `shares` pairs each paying account id with its part (largest remainder)."""

    applies: bool
    late_from: dt.datetime
    hours: int
    percent: Decimal
    amount: Decimal
    shares: list[tuple[int, Decimal]]


def late_cancellation_quote(*, booking: Booking, actor, at: dt.datetime | None = None) -> LateCancellationQuote:
    """The fee `charge_booking` would record if `actor` cancelled `booking` at `at` (now), computed the same
    way (the booking's fixed rate, the instrument's policy, the host's subsidy, the payers' shares) and
    writing nothing."""
    at = at or timezone.now()
    policy = ChargePolicy.for_instrument(booking.instrument_id)
    late_from = booking.start - dt.timedelta(hours=policy.late_cancel_hours)
    zero = LateCancellationQuote(
        False, late_from, policy.late_cancel_hours, policy.late_cancel_percent, Decimal("0.00"), []
    )
    if not charges_late_cancellation(booking=booking, from_status=booking.status, actor=actor, cancelled_at=at):
        return zero
    snapshot = RateSnapshot.objects.filter(booking_id=booking.pk).first()
    if snapshot is not None:
        rate, published = snapshot.hourly_rate, snapshot.published
    else:  # a booking made before rates were fixed at request time: the rate its charge would fix now
        klass = user_class_for(institution=booking.institution, facility=booking.instrument.facility)
        found = published_rate(instrument_id=booking.instrument_id, user_class=klass)
        rate, published = (found if found is not None else Decimal("0.00")), found is not None
    fee = fee_for(
        kind=ChargeKind.LATE_CANCELLATION,
        policy=policy,
        rate=rate,
        published=published,
        booked_minutes=_minutes(booking.start, booking.end),
        actual_minutes=None,
    )
    if fee.gross <= 0:
        return zero
    day = timezone.localtime(booking.start, local_tz()).date()
    sub_pct = subsidy_percent(facility_id=booking.instrument.facility_id, partner_id=booking.institution_id, day=day)
    amount = fee.gross - subsidy_for(fee.gross, sub_pct)
    shares = _shares(booking)
    parts = allocate(amount, shares).account_amounts if shares else []
    return LateCancellationQuote(
        True,
        late_from,
        policy.late_cancel_hours,
        policy.late_cancel_percent,
        amount,
        [(s.account_id, part) for s, part in zip(shares, parts, strict=True)],
    )
