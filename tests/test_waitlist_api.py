"""GET/POST /api/v1/waitlist/ and /waitlist/{id}/accept/ and /withdraw/, per persona."""

import datetime as dt

from booking.models import WaitlistEntry
from booking.services import booking_cancel, booking_request
from booking.services.waitlist import offer_next

H = dt.timedelta(hours=1)
URL = "/api/v1/waitlist/"


def join_body(world, start):
    return {"instrument": world.instrument.pk, "start": start.isoformat(), "end": (start + H).isoformat()}


def test_join_list_accept(world, tomorrow_9):
    held = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    c = world.client(world.outsider)
    r = c.post(URL, join_body(world, tomorrow_9), format="json")
    assert r.status_code == 201, r.json()
    entry = r.json()
    assert (
        entry["status"] == "waiting" and entry["start"] == tomorrow_9.isoformat() and entry["offer_expires_at"] is None
    )
    assert c.post(URL, join_body(world, tomorrow_9), format="json").json()["code"] == "already_waiting"
    # Others do not see it, and may not touch it.
    assert world.client(world.researcher).get(URL).json()["count"] == 0
    assert world.client(world.researcher).post(f"{URL}{entry['id']}/withdraw/", {}, format="json").status_code == 404
    r = c.post(f"{URL}{entry['id']}/accept/", {}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "not_offered"
    booking_cancel(actor=world.researcher, booking_id=held.pk)
    offer_next(instrument_id=world.instrument.pk)
    listed = c.get(URL, {"status": "offered"}).json()
    assert listed["count"] == 1 and listed["results"][0]["offer_expires_at"]
    r = c.post(f"{URL}{entry['id']}/accept/", {"purpose": "from the waitlist"}, format="json")
    assert r.status_code == 201, r.json()
    assert (r.json()["requester"], r.json()["purpose"], r.json()["status"]) == ("out", "from the waitlist", "approved")
    assert WaitlistEntry.objects.get(pk=entry["id"]).status == "accepted"


def test_join_free_slot_is_400_in_words(world, tomorrow_9):
    r = world.client(world.outsider).post(URL, join_body(world, tomorrow_9), format="json")
    assert r.status_code == 400 and "book it" in r.json()["detail"]


def test_waitlist_personas_and_bad_input(world, tomorrow_9):
    booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    assert world.client(None).get(URL).status_code in (401, 403)
    assert world.client(world.manager).post(URL, join_body(world, tomorrow_9), format="json").status_code == 403
    assert world.client(world.outsider).get(URL, {"status": "nope"}).status_code == 400
    r = world.client(world.outsider).post(URL, {**join_body(world, tomorrow_9), "instrument": "1"}, format="json")
    assert r.status_code == 400 and "instrument" in r.json()
    r = world.client(world.outsider).post(URL, {**join_body(world, tomorrow_9), "instrument": 987654}, format="json")
    assert r.status_code == 400 and "987654" in r.json()["instrument"][0]


def test_withdraw(world, tomorrow_9):
    booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    c = world.client(world.outsider)
    entry = c.post(URL, join_body(world, tomorrow_9), format="json").json()
    r = c.post(f"{URL}{entry['id']}/withdraw/", {}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    r = c.post(f"{URL}{entry['id']}/withdraw/", {}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"


def test_list_query_count_does_not_grow(world, tomorrow_9, django_assert_max_num_queries):
    for n in range(5):
        start = tomorrow_9 + n * 2 * H
        booking_request(requester=world.researcher, instrument=world.instrument, start=start, end=start + H)
        world.client(world.outsider).post(URL, join_body(world, start), format="json")
    with django_assert_max_num_queries(4):
        r = world.client(world.outsider).get(URL)
    assert r.json()["count"] == 5


def test_only_the_waiting_user_may_accept(world, tomorrow_9):
    held = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    entry = world.client(world.outsider).post(URL, join_body(world, tomorrow_9), format="json").json()
    booking_cancel(actor=world.researcher, booking_id=held.pk)
    offer_next(instrument_id=world.instrument.pk)
    for persona in (world.researcher, world.manager, world.finance):
        r = world.client(persona).post(f"{URL}{entry['id']}/accept/", {}, format="json")
        assert r.status_code == 404 and r.json()["detail"], persona
    assert world.client(None).post(f"{URL}{entry['id']}/accept/", {}, format="json").status_code in (401, 403)
    assert WaitlistEntry.objects.get(pk=entry["id"]).status == "offered"
