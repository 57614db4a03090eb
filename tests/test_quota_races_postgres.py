"""Budgets and time shares hold when bookings race: real threads with their own PostgreSQL
connections, each going through the booking service. On SQLite the IMMEDIATE transactions serialize
every writer, so only PostgreSQL's row locks are under test here."""

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from booking.models import Booking
from booking.services import booking_request
from booking.services.time_shares import minutes_left, quarter_bounds, quarter_share_status
from common.errors import Conflict
from facilities.models import FundingAccount, RateCard, TimeShare

from .factories.facilities import InstrumentFactory
from .test_races import quiet_after_commit, run_threads  # noqa: F401 - quiet_after_commit is a fixture

H = dt.timedelta(hours=1)
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def attempt_all(count: int, book) -> Counter:
    outcome: Counter = Counter()

    def attempt(i: int) -> None:
        try:
            book(i)
            outcome["booked"] += 1
        except ValidationError as exc:
            outcome[" ".join(exc.messages)[:40]] += 1
        except Conflict as exc:
            outcome[exc.code] += 1

    run_threads(count, attempt)
    return outcome


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("quiet_after_commit")
def test_bookings_on_different_instruments_never_overspend_one_capped_account(world, tomorrow_9):
    """Eight bookings of 100.00 each, on eight instruments (so no instrument lock orders them), all
    charging one account with 250.00 left: exactly two fit."""
    instruments = [InstrumentFactory(facility=world.facility, code=f"CAP{i}") for i in range(8)]
    for instrument in instruments:
        RateCard.objects.create(instrument=instrument, user_class="external_academic", hourly_rate=Decimal("100.00"))
    FundingAccount.objects.filter(pk=world.researcher_account.pk).update(budget_cap=Decimal("250.00"))

    outcome = attempt_all(
        8,
        lambda i: booking_request(
            requester=world.researcher,
            instrument=instruments[i],
            start=tomorrow_9,
            end=tomorrow_9 + H,
            splits=[{"account": world.researcher_account.pk, "percent": "100"}],
        ),
    )

    assert outcome["booked"] == 2, outcome
    assert sum(outcome.values()) == 8 and all(k == "booked" or k.startswith("Account USTC-G1 has") for k in outcome)
    assert Booking.objects.filter(splits__account=world.researcher_account).count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("quiet_after_commit")
def test_racing_bookings_never_take_more_than_the_open_time_share(world, tomorrow_9):
    """A partner keeps nearly all of the quarter; outsiders racing for the open rest get exactly as many
    one-hour bookings as it holds."""
    TimeShare.objects.create(instrument=world.instrument, institution=world.ustc, percent=Decimal("99.90"))
    q_start, q_end, _ = quarter_bounds(tomorrow_9)
    left = minutes_left(quarter_share_status(world.instrument, q_start, q_end), world.zju.pk)
    fits = left // 60
    assert 1 <= fits < 8

    outcome = attempt_all(
        8,
        lambda i: booking_request(
            requester=world.outsider,
            instrument=world.instrument,
            start=tomorrow_9 + 2 * i * H,
            end=tomorrow_9 + (2 * i + 1) * H,
        ),
    )

    assert outcome["booked"] == fits, outcome
    assert all(k == "booked" or k.startswith("Time share") for k in outcome), outcome
    assert Booking.objects.filter(institution=world.zju).count() == fits
