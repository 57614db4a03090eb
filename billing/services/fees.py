"""The fee arithmetic, free of the database so it can be checked exhaustively."""

from dataclasses import dataclass
from decimal import Decimal

from ..models import BillingModel, ChargeKind, ChargePolicy
from ..money import ZERO, percent_of, yuan


@dataclass(frozen=True)
class Fee:
    kind: str
    minutes: int
    gross: Decimal


def time_fee(rate: Decimal, minutes: int) -> Decimal:
    return yuan(Decimal(rate) * minutes / 60)


def charged_minutes(*, model: str, booked: int, used: int | None, overrun: int = 0, minimum: int = 0) -> int:
    """The minutes a use is charged for. `used` is all recorded use (None: nothing recorded, then the
    booked time counts as used), `overrun` the part of it after the booked end, always charged:
    booked: booked + overrun; used: used; greater: max(booked, used within the booking) + overrun;
    used with a minimum: max(used, minimum)."""
    if used is None:
        used, overrun = booked, 0
    overrun = min(overrun, used)
    if model == BillingModel.ACTUAL:
        return used
    if model == BillingModel.GREATER:
        return max(booked, used - overrun) + overrun
    if model == BillingModel.USED_MINIMUM:
        return max(used, minimum)
    return booked + overrun


def fee_for(
    *,
    kind: str,
    policy: ChargePolicy,
    rate: Decimal,
    published: bool,
    booked_minutes: int,
    actual_minutes: int | None,
    overrun_minutes: int = 0,
) -> Fee:
    """usage: the minutes the policy's billing model charges, at least the minimum charge (for a
    published rate); no-show and late cancellation: their percent of the booked-time fee."""
    if kind == ChargeKind.USAGE:
        minutes = charged_minutes(
            model=policy.billing_model,
            booked=booked_minutes,
            used=actual_minutes,
            overrun=overrun_minutes,
            minimum=policy.minimum_minutes,
        )
        gross = time_fee(rate, minutes)
        if published and gross < policy.minimum_charge:
            gross = yuan(policy.minimum_charge)
        return Fee(kind, minutes, gross)
    percent = policy.no_show_percent if kind == ChargeKind.NO_SHOW else policy.late_cancel_percent
    booked_fee = time_fee(rate, booked_minutes)
    return Fee(kind, booked_minutes, yuan(booked_fee * Decimal(percent) / 100) if booked_fee else ZERO)


def subsidy_for(gross: Decimal, percent: Decimal) -> Decimal:
    return percent_of(gross, percent) if percent else ZERO
