"""Dividing a charge among its payers, free of the database: the account shares by largest remainder,
then the part a voucher covers of its holder's shares, never more than the voucher has left."""

from dataclasses import dataclass
from decimal import Decimal

from ..money import ZERO, from_fen, largest_remainder, percent_of, to_fen


@dataclass(frozen=True)
class Share:
    account_id: int
    institution_id: int
    percent: Decimal


@dataclass(frozen=True)
class VoucherTerms:
    holder_id: int
    percent: Decimal
    balance: Decimal


@dataclass(frozen=True)
class Allocation:
    account_amounts: list[Decimal]  # in the order of the shares
    voucher_amount: Decimal

    @property
    def total(self) -> Decimal:
        return sum(self.account_amounts, ZERO) + self.voucher_amount


def allocate(amount: Decimal, shares: list[Share], voucher: VoucherTerms | None = None) -> Allocation:
    parts = [from_fen(f) for f in largest_remainder(to_fen(amount), [s.percent for s in shares])]
    covered = ZERO
    if voucher is not None and voucher.balance > 0:
        left = voucher.balance
        for i, share in enumerate(shares):
            if share.institution_id != voucher.holder_id or left <= 0:
                continue
            cover = min(percent_of(parts[i], voucher.percent), left)
            parts[i] -= cover
            left -= cover
            covered += cover
    return Allocation(parts, covered)
