"""Property tests of time shares: whatever the order of requests, nobody takes more than their share,
and a refusal says how many hours are left."""

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from booking.services import booking_request
from booking.services.time_shares import minutes_left, quarter_bounds, quarter_share_status
from facilities.models import TimeShare

H = dt.timedelta(hours=1)


@pytest.fixture
def next_quarter(tomorrow_9):
    _, q_end, _ = quarter_bounds(tomorrow_9)
    return q_end  # local midnight starting the next quarter: every attempt below falls inside it


@hsettings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    percent=st.sampled_from(["99.00", "99.50", "99.80"]),
    attempts=st.lists(st.tuples(st.booleans(), st.integers(1, 12)), min_size=1, max_size=6),
)
def test_never_more_than_the_share(world, next_quarter, percent, attempts):
    with transaction.atomic():
        TimeShare.objects.create(instrument=world.instrument, institution=world.zju, percent=percent)
        q_start, q_end, _ = quarter_bounds(next_quarter)
        for day, (partner, hours) in enumerate(attempts):
            who = world.outsider if partner else world.researcher
            institution = world.zju if partner else world.ustc
            start = next_quarter + dt.timedelta(days=day) + 8 * H
            before = quarter_share_status(world.instrument, q_start, q_end)
            left = minutes_left(before, institution.pk)
            try:
                booking_request(requester=who, instrument=world.instrument, start=start, end=start + hours * H)
            except ValidationError as exc:
                message = " ".join(exc.messages)
                assert hours * 60 > left, "refused although it fitted"
                assert re.search(rf"\b{left / 60:.1f} hours are left", message), message
                assert ("partner share" in message) == partner
            else:
                assert hours * 60 <= left, "accepted more than was left"
            after = quarter_share_status(world.instrument, q_start, q_end)
            assert after["open_used"] <= after["open_total"]
            for pk, reserved in after["reserved"].items():
                assert after["used"].get(pk, 0) <= reserved + after["open_total"]
        transaction.set_rollback(True)


def test_refusal_names_hours_left(world, next_quarter):
    TimeShare.objects.create(instrument=world.instrument, institution=world.zju, percent="99.80")
    start = next_quarter + 8 * H
    with pytest.raises(ValidationError) as err:
        booking_request(requester=world.researcher, instrument=world.instrument, start=start, end=start + 12 * H)
    assert "Time share" in str(err.value) and "hours are left in the open share" in str(err.value)
