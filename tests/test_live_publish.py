"""What publishing a committed change costs the process that made it."""

import pytest

from booking.live.publish import publish_availability, publish_booking_event


@pytest.fixture(autouse=True)
def in_memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def test_publishing_costs_the_writer_no_read(world, django_assert_num_queries):
    """A change is announced by its instrument, version and place, and a booking event by the booking's
    id: the listeners read what they show, so a change nobody watches costs the writer no query."""
    with django_assert_num_queries(0):
        publish_availability(world.instrument.pk, 7, [(0, 10**6)])
        publish_booking_event(
            booking_id=1, facility_id=world.facility.pk, requester_id=world.researcher.pk, event="requested"
        )
