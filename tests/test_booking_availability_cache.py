"""The public availability answer is cached under the instrument's version, and never outlives a change."""

import datetime as dt
from urllib.parse import urlencode

import pytest

from booking.services import booking_cancel, booking_request
from facilities.services import closure_add

H = dt.timedelta(hours=1)
pytestmark = pytest.mark.django_db


def url(world, start, end):
    query = urlencode({"start": start.isoformat(), "end": end.isoformat()})
    return f"/api/v1/instruments/{world.instrument.pk}/availability/?{query}"


def test_repeat_is_served_from_the_cache_and_changes_are_seen_at_once(world, tomorrow_9, django_assert_max_num_queries):
    client = world.client(None)
    first = client.get(url(world, tomorrow_9, tomorrow_9 + 6 * H)).json()
    assert first["busy"] == []
    with django_assert_max_num_queries(2):  # the instrument and its version; nothing is recomputed
        assert client.get(url(world, tomorrow_9, tomorrow_9 + 6 * H)).json() == first

    booking = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    after_booking = client.get(url(world, tomorrow_9, tomorrow_9 + 6 * H)).json()
    assert after_booking["version"] == first["version"] + 1
    assert [b["kind"] for b in after_booking["busy"]] == ["booking"]

    closure_add(actor=world.manager, facility=world.facility, start=tomorrow_9 + 3 * H, end=tomorrow_9 + 4 * H)
    after_closure = client.get(url(world, tomorrow_9, tomorrow_9 + 6 * H)).json()
    assert [b["kind"] for b in after_closure["busy"]] == ["booking", "closure"]

    booking_cancel(actor=world.researcher, booking_id=booking.pk)
    after_cancel = client.get(url(world, tomorrow_9, tomorrow_9 + 6 * H)).json()
    assert [b["kind"] for b in after_cancel["busy"]] == ["closure"]
    assert after_cancel["version"] == first["version"] + 3
