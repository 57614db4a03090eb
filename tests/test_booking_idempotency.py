"""Idempotency-Key on POST /bookings/: a replay answers the first result and creates nothing."""

import datetime as dt
import threading

import pytest
from django.db import connection

from booking.models import Booking, IdempotencyRecord

H = dt.timedelta(hours=1)
URL = "/api/v1/bookings/"


def body(world, start):
    return {"instrument": world.instrument.pk, "start": start.isoformat(), "end": (start + H).isoformat()}


def test_replay_returns_the_stored_answer_and_creates_nothing(world, tomorrow_9):
    c = world.client(world.researcher)
    first = c.post(URL, body(world, tomorrow_9), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    again = c.post(URL, body(world, tomorrow_9), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Booking.objects.count() == 1 and IdempotencyRecord.objects.count() == 1


def test_refusals_are_replayed_too(world, tomorrow_9):
    world.client(world.outsider).post(URL, body(world, tomorrow_9), format="json")
    c = world.client(world.researcher)
    first = c.post(URL, body(world, tomorrow_9), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert first.status_code == 409
    Booking.objects.update(status=Booking.Status.CANCELLED)  # the slot frees, but the key's answer stands
    again = c.post(URL, body(world, tomorrow_9), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert again.status_code == 409 and again.json() == first.json()
    assert Booking.objects.filter(requester=world.researcher).count() == 0


def test_same_key_different_body_is_409(world, tomorrow_9):
    c = world.client(world.researcher)
    assert c.post(URL, body(world, tomorrow_9), format="json", HTTP_IDEMPOTENCY_KEY="k-3").status_code == 201
    r = c.post(URL, body(world, tomorrow_9 + H), format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert r.status_code == 409
    assert r.json()["code"] == "idempotency_key_reused" and "different request" in r.json()["detail"]
    assert Booking.objects.count() == 1


def test_keys_belong_to_one_user(world, tomorrow_9):
    assert (
        world.client(world.researcher)
        .post(URL, body(world, tomorrow_9), format="json", HTTP_IDEMPOTENCY_KEY="same")
        .status_code
        == 201
    )
    r = world.client(world.outsider).post(URL, body(world, tomorrow_9 + H), format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert r.status_code == 201 and Booking.objects.count() == 2


def test_without_key_nothing_is_stored(world, tomorrow_9):
    c = world.client(world.researcher)
    assert c.post(URL, body(world, tomorrow_9), format="json").status_code == 201
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "ключ"])
def test_bad_keys_are_400(world, tomorrow_9, key):
    r = world.client(world.researcher).post(URL, body(world, tomorrow_9), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert r.status_code == 400 and "Idempotency-Key" in str(r.json())
    assert Booking.objects.count() == 0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_create_one_booking(world, tomorrow_9):
    """Eight copies of one keyed request at once: one booking, and every copy answers with it."""
    payload = body(world, tomorrow_9)
    answers: list[tuple[int, dict]] = []
    barrier = threading.Barrier(8)

    def send():
        try:
            client = world.client(world.researcher)
            barrier.wait()
            r = client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="race-key")
            answers.append((r.status_code, r.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(answers) == 8
    assert Booking.objects.count() == 1
    booking_id = Booking.objects.get().pk
    assert {(code, data["id"]) for code, data in answers} == {(201, booking_id)}
    assert IdempotencyRecord.objects.count() == 1


def test_records_expire_after_the_keep_window_and_the_key_starts_afresh(world, tomorrow_9, settings):
    from booking.tasks import expire_idempotency_records

    settings.IDEMPOTENCY_KEEP_HOURS = 24
    c = world.client(world.researcher)
    assert c.post(URL, body(world, tomorrow_9), format="json", HTTP_IDEMPOTENCY_KEY="old").status_code == 201
    assert c.post(URL, body(world, tomorrow_9 + 2 * H), format="json", HTTP_IDEMPOTENCY_KEY="new").status_code == 201
    made = IdempotencyRecord.objects.get(key="new").created_at
    IdempotencyRecord.objects.filter(key="old").update(created_at=made - dt.timedelta(hours=25))

    now = (made + dt.timedelta(minutes=1)).isoformat()
    assert expire_idempotency_records(now=now) == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    assert expire_idempotency_records(now=now) == 0  # running it again changes nothing

    # The forgotten key is a new request: the slot is held by the first booking, so now a 409.
    again = c.post(URL, body(world, tomorrow_9), format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert again.status_code == 409 and "Idempotent-Replayed" not in again
    # The kept key still replays.
    kept = c.post(URL, body(world, tomorrow_9 + 2 * H), format="json", HTTP_IDEMPOTENCY_KEY="new")
    assert kept.status_code == 201 and kept["Idempotent-Replayed"] == "true"
    assert Booking.objects.count() == 2
