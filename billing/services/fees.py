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


def fee_for(
    *, kind: str, policy: ChargePolicy, rate: Decimal, published: bool, booked_minutes: int, actual_minutes: int | None
) -> Fee:
    """usage: booked or actual time per the policy, at least the minimum (for a published rate);
    no-show and late cancellation: their percent of the booked-time fee."""
    if kind == ChargeKind.USAGE:
        minutes = booked_minutes
        if policy.billing_model == BillingModel.ACTUAL and actual_minutes is not None:
            minutes = actual_minutes
        gross = time_fee(rate, minutes)
        if published and gross < policy.minimum_charge:
            gross = yuan(policy.minimum_charge)
        return Fee(kind, minutes, gross)
    percent = policy.no_show_percent if kind == ChargeKind.NO_SHOW else policy.late_cancel_percent
    booked_fee = time_fee(rate, booked_minutes)
    return Fee(kind, booked_minutes, yuan(booked_fee * Decimal(percent) / 100) if booked_fee else ZERO)


def subsidy_for(gross: Decimal, percent: Decimal) -> Decimal:
    return percent_of(gross, percent) if percent else ZERO
