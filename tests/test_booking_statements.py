"""Guards on what the commonest booking answers cost in SQL statements, so that reads cannot creep
back into the path. Each request is authenticated by API token, as scripts send them. What runs after
commit (live updates, mail) is not counted: nothing commits inside a test's transaction."""

import datetime as dt

import pytest
from django.db import connection
from rest_framework.test import APIClient

from booking.models import Booking
from facilities.credentials import create_token

from .factories.booking import BookingFactory

H = dt.timedelta(hours=1)
URL = "/api/v1/bookings/"


@pytest.fixture
def api(world) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {create_token(user=world.researcher, name='test')[1]}")
    client.get("/api/v1/me/")  # a token's first use is written down once; the counts below are for later uses
    return client


def body(world, start: dt.datetime, end: dt.datetime) -> dict:
    return {"instrument": world.instrument.pk, "start": start.isoformat(), "end": end.isoformat()}


def test_a_created_booking_takes_at_most_twenty_two_statements(world, api, tomorrow_9, django_assert_max_num_queries):
    """Token, instrument, institution, hours, closures, accounts; the locks, quotas (the person's, and
    the research groups' hour and spending limits: one statement each when none applies) and the slot;
    the booking, its split, its audit entry, its version and its rate snapshot; the answer's splits.
    PostgreSQL adds the row locks, with the lookup of the accounts a research group limits."""
    with django_assert_max_num_queries(24 if connection.vendor == "postgresql" else 22):
        r = api.post(URL, body(world, tomorrow_9, tomorrow_9 + H), format="json")
    assert r.status_code == 201


def test_a_refused_rule_takes_at_most_four_statements(world, api, tomorrow_9, django_assert_max_num_queries):
    """A request that breaks one of the instrument's rules is answered from the token, the instrument
    and the requester's institution."""
    world.instrument.horizon_days = 1
    world.instrument.save()
    start = tomorrow_9 + 48 * H
    with django_assert_max_num_queries(4):
        r = api.post(URL, body(world, start, start + H), format="json")
    assert r.status_code == 400 and "Booking horizon" in r.json()["detail"]


def test_a_held_slot_is_refused_after_every_earlier_rule(world, api, tomorrow_9, django_assert_max_num_queries):
    """The slot is the last rule (docs/booking.md), so its 409 costs what the checks before it cost
    (since research groups: one statement each for their hour and spending limits, and on PostgreSQL
    the lookup of the accounts a group limits, for the lock), and no write."""
    BookingFactory(
        instrument=world.instrument,
        requester=world.outsider,
        institution=world.zju,
        start=tomorrow_9,
        end=tomorrow_9 + H,
        account=world.outsider_account,
    )
    with django_assert_max_num_queries(16 if connection.vendor == "postgresql" else 15):
        r = api.post(URL, body(world, tomorrow_9, tomorrow_9 + H), format="json")
    assert r.status_code == 409 and r.json()["code"] == "slot_unavailable"
    assert Booking.objects.count() == 1
