"""A change nobody watches costs no reads: with Redis, the publisher first asks how many processes
listen to the instrument's (or the facility's, or the requester's) group. Needs REDIS_URL for the
Redis part (CI sets it, with PostgreSQL)."""

import datetime as dt
import os
import time

import pytest
from channels.layers import get_channel_layer

from booking.live import publish
from booking.live.publish import (
    availability_group,
    facility_group,
    listened,
    publish_availability,
    publish_booking_event,
    user_group,
)

from .factories.booking import BookingFactory

needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis at REDIS_URL")


def test_other_layers_count_every_group_as_listened(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert listened(["a", "b"]) == ["a", "b"]


@pytest.fixture
def redis_listener():
    """A plain Redis subscriber standing in for a daphne process whose clients watch some groups."""
    client, prefix = publish._sync_redis(get_channel_layer())
    pubsub = client.pubsub(ignore_subscribe_messages=True)

    def listen(group: str) -> None:
        pubsub.subscribe(f"{prefix}{group}")
        assert pubsub.get_message(timeout=1) is None  # consumes the subscribe confirmation

    def received(timeout: float = 2.0) -> list[str]:
        out, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.1)
            if message:
                out.append(message["channel"].decode().removeprefix(prefix))
            elif out:
                break
        return out

    yield listen, received
    pubsub.close()


@needs_redis
@pytest.mark.django_db
def test_an_unwatched_instrument_costs_no_read(world, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert publish_availability(world.instrument.pk, 7, None) is None


@needs_redis
@pytest.mark.django_db
def test_a_watched_instrument_is_computed_and_published(world, redis_listener):
    listen, received = redis_listener
    listen(availability_group(world.instrument.pk))
    assert listened([availability_group(world.instrument.pk), "nobody"]) == [availability_group(world.instrument.pk)]
    state = publish_availability(world.instrument.pk, 7, None)
    assert state is not None and state.version == 7
    assert received() == [availability_group(world.instrument.pk)]


@needs_redis
@pytest.mark.django_db
def test_booking_events_go_only_to_groups_with_listeners(world, redis_listener, django_assert_num_queries, tomorrow_9):
    listen, received = redis_listener
    booking = BookingFactory(instrument=world.instrument, requester=world.researcher, institution=world.ustc,
                             start=tomorrow_9, end=tomorrow_9 + dt.timedelta(hours=1))
    args = dict(booking_id=booking.pk, facility_id=world.facility.pk, requester_id=world.researcher.pk, event="requested")
    with django_assert_num_queries(0):
        publish_booking_event(**args)  # nobody watches the queue or the requester's page
    listen(user_group(world.researcher.pk))
    publish_booking_event(**args)
    assert received() == [user_group(world.researcher.pk)]
    listen(facility_group(world.facility.pk))
    publish_booking_event(**args)
    assert sorted(received()) == sorted([facility_group(world.facility.pk), user_group(world.researcher.pk)])


@pytest.mark.django_db
def test_the_events_of_one_change_count_their_listeners_once(world, monkeypatch):
    """A booking approved on creation announces `requested` and `approved` after one commit: one count
    of listeners serves both; the next change of the booking (a new version) is counted afresh."""
    import threading

    asked = []
    monkeypatch.setattr(publish, "_recent", threading.local())
    monkeypatch.setattr(publish, "listened", lambda groups: asked.append(list(groups)) or [])
    args = dict(booking_id=41, facility_id=world.facility.pk, requester_id=world.researcher.pk)
    publish_booking_event(**args, event="requested", version=("approved", 0))
    publish_booking_event(**args, event="approved", version=("approved", 0))
    assert asked == [[facility_group(world.facility.pk), user_group(world.researcher.pk)]]
    publish_booking_event(**args, event="cancelled", version=("cancelled", 1))
    assert len(asked) == 2
    publish_booking_event(**{**args, "booking_id": 42}, event="cancelled", version=("cancelled", 1))
    assert len(asked) == 3
    publish_booking_event(**args, event="cancelled", version=None)  # no version: always counted
    publish_booking_event(**args, event="cancelled", version=None)
    assert len(asked) == 5
