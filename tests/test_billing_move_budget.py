"""Moving a booking re-checks its accounts' budgets without counting the booking twice."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from booking.services import booking_request
from booking.services.moves import booking_move
from facilities.models import RateCard

H = dt.timedelta(hours=1)
pytestmark = pytest.mark.django_db


@pytest.fixture
def capped(world):
    RateCard.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=Decimal("100.00"))
    world.researcher_account.budget_cap = Decimal("250.00")
    world.researcher_account.save()
    return world


def test_move_within_budget_is_accepted(capped, tomorrow_9):
    w = capped
    booking = booking_request(requester=w.researcher, instrument=w.instrument, start=tomorrow_9, end=tomorrow_9 + 2 * H)
    # 200 CNY held against a 250 CNY cap: moving the same two hours must still fit.
    moved = booking_move(actor=w.researcher, booking_id=booking.pk, start=tomorrow_9 + 3 * H, end=tomorrow_9 + 5 * H)
    assert (moved.start, moved.end) == (tomorrow_9 + 3 * H, tomorrow_9 + 5 * H)


def test_move_that_outgrows_the_budget_is_refused(capped, tomorrow_9):
    w = capped
    booking = booking_request(requester=w.researcher, instrument=w.instrument, start=tomorrow_9, end=tomorrow_9 + 2 * H)
    with pytest.raises(ValidationError, match="USTC-G1 has 250.00 CNY"):
        booking_move(actor=w.researcher, booking_id=booking.pk, start=tomorrow_9, end=tomorrow_9 + 3 * H)
