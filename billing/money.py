"""Exact money: yuan as Decimal with two places, fen as int, and splitting a total into parts that add
up to it exactly (largest remainder). No float ever touches an amount."""

from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def yuan(value) -> Decimal:
    """Round to the fen, half up (the way a person rounds a bill)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def to_fen(value: Decimal) -> int:
    q = Decimal(value).quantize(CENT)
    if q != Decimal(value):
        raise ValueError(f"{value} has fractions of a fen")
    return int(q * 100)


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(CENT)


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    """`percent` of `amount`, rounded down to the fen: a share someone else covers never exceeds it."""
    return (Decimal(amount) * Decimal(percent) / 100).quantize(CENT, rounding=ROUND_DOWN)


def largest_remainder(total_fen: int, weights: Sequence[Decimal]) -> list[int]:
    """Split `total_fen` in proportion to `weights`: each part is its exact share rounded down, and the
    fen left over go one each to the parts with the largest remainders (earlier parts first on ties).
    The parts always add up to `total_fen`."""
    if total_fen < 0:
        return [-p for p in largest_remainder(-total_fen, weights)]
    if not weights:
        if total_fen:
            raise ValueError("cannot split a non-zero amount across no parts")
        return []
    weight_sum = sum((Decimal(w) for w in weights), Decimal(0))
    if weight_sum <= 0 or any(Decimal(w) < 0 for w in weights):
        raise ValueError("weights must be non-negative and not all zero")
    floors, remainders = [], []
    for i, w in enumerate(weights):
        exact = Decimal(total_fen) * Decimal(w) / weight_sum
        floor = int(exact.to_integral_value(rounding=ROUND_DOWN))
        floors.append(floor)
        remainders.append((exact - floor, -i))
    left = total_fen - sum(floors)
    for _, neg_i in sorted(remainders, reverse=True)[:left]:
        floors[-neg_i] += 1
    return floors
