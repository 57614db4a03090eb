"""A request for a held slot is refused after one read, with the same answer the full path gives; every
other answer keeps its place in front of it."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from booking.models import Booking
from booking.services import booking_request_by_id
from common.errors import Conflict

from .factories.booking import BookingFactory

H = dt.timedelta(hours=1)
URL = "/api/v1/bookings/"


def body(world, start, end=None, **extra):
    return {"instrument": world.instrument.pk, "start": start.isoformat(), "end": (end or start + H).isoformat(), **extra}


def held(world, start, end, status=Booking.Status.APPROVED):
    return BookingFactory(instrument=world.instrument, requester=world.researcher, institution=world.ustc,
                          start=start, end=end, status=status)


@pytest.mark.parametrize("status", [Booking.Status.APPROVED, Booking.Status.REQUESTED])
def test_held_slot_is_refused_after_one_read(world, tomorrow_9, status):
    held(world, tomorrow_9, tomorrow_9 + 2 * H, status)
    held(world, tomorrow_9 + 3 * H, tomorrow_9 + 4 * H, status)
    with CaptureQueriesContext(connection) as queries:
        r = world.client(world.outsider).post(URL, body(world, tomorrow_9 + H, tomorrow_9 + 4 * H), format="json")
    assert r.status_code == 409, r.json()
    data = r.json()
    assert data["code"] == "slot_unavailable" and "BL1" in data["detail"]
    assert data["conflicts"] == [
        {"start": tomorrow_9.isoformat(), "end": (tomorrow_9 + 2 * H).isoformat()},
        {"start": (tomorrow_9 + 3 * H).isoformat(), "end": (tomorrow_9 + 4 * H).isoformat()},
    ]
    # force_authenticate skips the token read: what is left is the one read of the early refusal.
    assert len(queries) == 1, [q["sql"][:80] for q in queries]
    assert Booking.objects.count() == 2


def test_answer_matches_the_full_path(world, tomorrow_9):
    held(world, tomorrow_9, tomorrow_9 + 2 * H)
    early = world.client(world.outsider).post(URL, body(world, tomorrow_9 + H), format="json").json()
    with pytest.raises(Conflict) as full:
        from booking.services import booking_request

        booking_request(requester=world.outsider, instrument=world.instrument, start=tomorrow_9 + H, end=tomorrow_9 + 2 * H)
    assert early == {"code": full.value.code, "detail": full.value.detail, **full.value.extra}


def test_released_slots_are_not_refused(world, tomorrow_9):
    for status in (Booking.Status.CANCELLED, Booking.Status.REJECTED):
        held(world, tomorrow_9, tomorrow_9 + H, status)
    r = world.client(world.outsider).post(URL, body(world, tomorrow_9), format="json")
    assert r.status_code == 201, r.json()


def test_touching_bookings_are_not_conflicts(world, tomorrow_9):
    held(world, tomorrow_9, tomorrow_9 + H)
    held(world, tomorrow_9 + 2 * H, tomorrow_9 + 3 * H)
    r = world.client(world.outsider).post(URL, body(world, tomorrow_9 + H), format="json")
    assert r.status_code == 201, r.json()


def test_buffer_only_overlap_goes_to_the_full_path_and_is_refused(world, tomorrow_9):
    world.instrument.buffer_minutes = 30
    world.instrument.save()
    assert world.client(world.researcher).post(URL, body(world, tomorrow_9), format="json").status_code == 201
    # 10:00 touches the booking itself but not its changeover, which runs to 10:30.
    r = world.client(world.outsider).post(URL, body(world, tomorrow_9 + H), format="json")
    assert r.status_code == 409
    assert r.json()["conflicts"] == [{"start": tomorrow_9.isoformat(), "end": (tomorrow_9 + 1.5 * H).isoformat()}]


def test_buffered_instrument_lists_conflicts_with_their_changeover(world, tomorrow_9):
    world.instrument.buffer_minutes = 30
    world.instrument.save()
    assert world.client(world.researcher).post(URL, body(world, tomorrow_9), format="json").status_code == 201
    r = world.client(world.outsider).post(URL, body(world, tomorrow_9), format="json")
    assert r.status_code == 409
    assert r.json()["conflicts"] == [{"start": tomorrow_9.isoformat(), "end": (tomorrow_9 + 1.5 * H).isoformat()}]


@pytest.mark.parametrize(
    "shift,length,rule",
    [
        (dt.timedelta(minutes=30), H, "Booking unit"),
        (dt.timedelta(0), dt.timedelta(hours=25), "Maximum duration"),
        (dt.timedelta(days=400), H, "Booking horizon"),
    ],
)
def test_broken_rules_are_named_before_the_conflict(world, tomorrow_9, shift, length, rule):
    # A long held booking overlaps every request below.
    held(world, tomorrow_9 - H, tomorrow_9 + 24 * H)
    if rule == "Booking horizon":
        held(world, tomorrow_9 + shift - H, tomorrow_9 + shift + 2 * H)
    r = world.client(world.outsider).post(URL, body(world, tomorrow_9 + shift, tomorrow_9 + shift + length), format="json")
    assert r.status_code == 400, r.json()
    assert rule in str(r.json())


def test_closed_instrument_is_named_before_the_conflict(world, tomorrow_9):
    held(world, tomorrow_9, tomorrow_9 + H)
    world.instrument.active = False
    world.instrument.save()
    r = world.client(world.outsider).post(URL, body(world, tomorrow_9), format="json")
    assert r.status_code == 400 and "not open for booking" in str(r.json())


def test_past_start_is_named_before_the_conflict(world, tomorrow_9):
    past = tomorrow_9 - dt.timedelta(days=3)
    held(world, past, past + H)
    r = world.client(world.outsider).post(URL, body(world, past), format="json")
    assert r.status_code == 400 and "past" in str(r.json())


@pytest.mark.parametrize("persona", ["finance", "manager"])
def test_accounts_that_may_not_book_get_403_not_409(world, tomorrow_9, persona):
    held(world, tomorrow_9, tomorrow_9 + H)
    r = world.client(getattr(world, persona)).post(URL, body(world, tomorrow_9), format="json")
    assert r.status_code == 403, r.json()


def test_unknown_instrument_is_400(world, tomorrow_9):
    r = world.client(world.researcher).post(URL, {**body(world, tomorrow_9), "instrument": 999_999}, format="json")
    assert r.status_code == 400 and "999999" in str(r.json())


def test_service_entry_by_id_books_a_free_slot(world, tomorrow_9):
    booking = booking_request_by_id(
        requester=world.outsider, instrument_id=world.instrument.pk, start=tomorrow_9, end=tomorrow_9 + H
    )
    assert booking.status == Booking.Status.APPROVED and booking.institution == world.zju
    with pytest.raises(Conflict):
        booking_request_by_id(requester=world.researcher, instrument_id=world.instrument.pk, start=tomorrow_9, end=tomorrow_9 + H)
