"""Properties that must hold for every input: splits add up exactly, vouchers never overdraw."""

from decimal import Decimal
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.models import ChargeKind, ChargePolicy
from billing.money import from_fen, largest_remainder, to_fen
from billing.services.allocation import Share, VoucherTerms, allocate
from billing.services.fees import fee_for, subsidy_for

D = Decimal
fen = st.integers(min_value=0, max_value=10**12)
money = st.integers(min_value=0, max_value=10**10).map(from_fen)
percent = st.integers(min_value=1, max_value=10000).map(lambda n: D(n) / 100)


@st.composite
def percents_to_100(draw):
    """2 to 20 split percents with two decimals that add up to exactly 100, as bookings require."""
    n = draw(st.integers(min_value=1, max_value=20))
    cuts = sorted(draw(st.lists(st.integers(min_value=1, max_value=9999), min_size=n - 1, max_size=n - 1, unique=True)))
    bounds = [0, *cuts, 10000]
    return [D(b - a) / 100 for a, b in pairwise(bounds)]


@given(total=fen, weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30).filter(any))
def test_largest_remainder_adds_up_and_each_part_is_within_a_fen(total, weights):
    parts = largest_remainder(total, [D(w) for w in weights])
    assert sum(parts) == total
    weight_sum = sum(weights)
    for part, w in zip(parts, weights, strict=True):
        exact = D(total) * w / weight_sum
        assert exact - 1 < part < exact + 1
        assert part >= 0


@given(total=fen, weights=st.lists(st.integers(min_value=1, max_value=100), min_size=2, max_size=10))
def test_larger_weights_never_get_less(total, weights):
    parts = largest_remainder(total, [D(w) for w in weights])
    for wa, pa in zip(weights, parts, strict=True):
        for wb, pb in zip(weights, parts, strict=True):
            if wa > wb:
                assert pa >= pb


@given(total=fen)
def test_negative_totals_mirror_positive_ones(total):
    weights = [D("33.33"), D("33.33"), D("33.34")]
    assert largest_remainder(-total, weights) == [-p for p in largest_remainder(total, weights)]


@given(amount=money, splits=percents_to_100(), data=st.data())
def test_account_shares_add_up_to_the_charge(amount, splits, data):
    shares = [Share(account_id=i, institution_id=data.draw(st.integers(1, 3)), percent=p) for i, p in enumerate(splits)]
    allocation = allocate(amount, shares)
    assert allocation.voucher_amount == 0
    assert sum(allocation.account_amounts) == amount
    assert all(a >= 0 and a == a.quantize(D("0.01")) for a in allocation.account_amounts)


@given(
    amount=money, splits=percents_to_100(), holder=st.integers(1, 3), v_percent=percent, balance=money, data=st.data()
)
def test_vouchers_add_up_and_never_exceed_balance_or_percent(amount, splits, holder, v_percent, balance, data):
    shares = [Share(account_id=i, institution_id=data.draw(st.integers(1, 3)), percent=p) for i, p in enumerate(splits)]
    allocation = allocate(amount, shares, VoucherTerms(holder_id=holder, percent=v_percent, balance=balance))
    assert allocation.total == amount
    assert 0 <= allocation.voucher_amount <= balance
    plain = allocate(amount, shares)
    holder_share = sum(
        (a for s, a in zip(shares, plain.account_amounts, strict=True) if s.institution_id == holder), D(0)
    )
    assert allocation.voucher_amount <= holder_share * v_percent / 100
    for s, before, after in zip(shares, plain.account_amounts, allocation.account_amounts, strict=True):
        assert 0 <= after <= before
        if s.institution_id != holder:
            assert after == before


@settings(max_examples=200)
@given(
    rate=money,
    booked=st.integers(1, 60 * 24 * 31),
    actual=st.none() | st.integers(1, 60 * 24 * 31),
    minimum=money,
    model=st.sampled_from(["booked", "actual"]),
    kind=st.sampled_from(list(ChargeKind.values)),
    pct=st.integers(0, 100).map(D),
    published=st.booleans(),
    subsidy=st.integers(0, 100).map(D),
)
def test_fees_are_exact_non_negative_and_respect_the_minimum(
    rate, booked, actual, minimum, model, kind, pct, published, subsidy
):
    policy = ChargePolicy(billing_model=model, minimum_charge=minimum, no_show_percent=pct, late_cancel_percent=pct)
    fee = fee_for(
        kind=kind, policy=policy, rate=rate, published=published, booked_minutes=booked, actual_minutes=actual
    )
    assert fee.gross >= 0 and fee.gross == fee.gross.quantize(D("0.01"))
    to_fen(fee.gross)
    if kind == ChargeKind.USAGE and published:
        assert fee.gross >= minimum
    covered = subsidy_for(fee.gross, subsidy)
    assert 0 <= covered <= fee.gross
