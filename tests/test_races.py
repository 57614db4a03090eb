"""Real threads racing for the same time, each on its own database connection.

On SQLite (the embedded default) the test database is a file, so every thread's connection locks it
for real; on PostgreSQL the same tests run against real connections, where the per-instrument row lock
serializes writers and the exclusion constraint stands behind it.
"""

import datetime as dt
import random
import threading
import time
from collections import Counter
from contextlib import contextmanager

import pytest
from django.db import connection

from booking.holds import HELD_STATUSES
from booking.models import Booking
from booking.services import booking_cancel, booking_request_by_id, requests
from booking.signals import booking_changed
from common.errors import Conflict
from facilities.signals import availability_changed

H = dt.timedelta(hours=1)
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@contextmanager
def muted(*signals):
    """The signals' receivers are not called inside the block."""
    saved = [(signal, signal.receivers) for signal in signals]
    for signal in signals:
        signal.receivers = []
        signal.sender_receivers_cache.clear()
    try:
        yield
    finally:
        for signal, receivers in saved:
            signal.receivers = receivers
            signal.sender_receivers_cache.clear()


@pytest.fixture
def quiet_after_commit():
    """Mute what runs after commit (mail, live pushes, waitlist offers): it cannot change what was
    committed, and here it would only spend the time the race is meant to spend on the race."""
    with muted(booking_changed, availability_changed):
        yield


def run_threads(count: int, target, timeout: float = 60) -> None:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def wrapped(i: int) -> None:
        try:
            barrier.wait()
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors[:3]


def assert_no_overlap(instrument_id: int) -> int:
    """Every pair of held bookings of the instrument, buffer included, is disjoint."""
    held = list(
        Booking.objects.filter(instrument_id=instrument_id, status__in=HELD_STATUSES).values_list(
            "pk", "start", "end", "hold_end"
        )
    )
    for i, (pk_a, start_a, end_a, hold_a) in enumerate(held):
        assert hold_a >= end_a
        for pk_b, start_b, _end_b, hold_b in held[i + 1 :]:
            assert not (start_a < hold_b and start_b < hold_a), f"bookings {pk_a} and {pk_b} overlap"
    return len(held)


def test_sixteen_threads_one_slot_over_http(world, tomorrow_9, quiet_after_commit):
    answers: Counter = Counter()
    payload = {"instrument": world.instrument.pk, "start": tomorrow_9.isoformat(), "end": (tomorrow_9 + H).isoformat()}

    def attempt(i: int) -> None:
        client = world.client(world.researcher if i % 2 else world.outsider)
        r = client.post("/api/v1/bookings/", payload, format="json")
        answers[(r.status_code, r.json().get("code"))] += 1

    run_threads(16, attempt)
    assert answers == Counter({(201, None): 1, (409, "slot_unavailable"): 15})
    assert Booking.objects.filter(status__in=HELD_STATUSES).count() == 1


def count_full_path(monkeypatch, counter: Counter, lock: threading.Lock) -> None:
    """Count the attempts that got past the early refusal and raced for the instrument lock."""
    real = requests.booking_request

    def counted(**kwargs):
        with lock:
            counter["full path"] += 1
        return real(**kwargs)

    monkeypatch.setattr(requests, "booking_request", counted)


def random_race(world, first_start: dt.datetime, monkeypatch, *, seed: int) -> Counter:
    """Eight threads book, and sometimes cancel, random spans over two days of a 30-minute-unit
    instrument with a 30-minute changeover, through the path the API takes (early refusal, then the
    locked insert), for up to 4,800 attempts or about 15 seconds, whichever ends first (a slow or busy
    machine runs fewer rather than stalling the suite). Returns the outcomes, after checking that no
    two held bookings overlap, buffer included, and that the race was meaningful."""
    inst = world.instrument
    inst.booking_unit_minutes, inst.min_minutes, inst.max_minutes, inst.buffer_minutes = 30, 30, 240, 30
    inst.save()
    threads, per_thread = 8, 600
    deadline = time.monotonic() + 15
    outcomes: Counter = Counter()
    lock = threading.Lock()
    count_full_path(monkeypatch, outcomes, lock)

    def worker(i: int) -> None:
        rng = random.Random(seed + i)
        user = world.researcher if i % 2 else world.outsider
        mine: list[int] = []
        for _ in range(per_thread):
            if time.monotonic() > deadline:
                return
            if mine and rng.random() < 0.1:
                booking_cancel(actor=user, booking_id=mine.pop(rng.randrange(len(mine))))
                result = "cancelled"
            else:
                start = first_start + dt.timedelta(minutes=30 * rng.randrange(0, 96))
                end = start + dt.timedelta(minutes=30 * rng.randint(1, 8))
                try:
                    mine.append(booking_request_by_id(requester=user, instrument_id=inst.pk, start=start, end=end).pk)
                    result = "booked"
                except Conflict:
                    result = "conflict"
            with lock:
                outcomes[result] += 1

    run_threads(threads, worker, timeout=60)
    attempts = outcomes["booked"] + outcomes["conflict"] + outcomes["cancelled"]
    print(f"random overlapping attempts on {connection.vendor}: {attempts} {dict(outcomes)}")
    assert attempts >= 500, f"only {attempts} attempts in the time allowed: {outcomes}"
    assert outcomes["booked"] >= 5 and outcomes["conflict"] >= 10 and outcomes["full path"] >= 20, outcomes
    held = assert_no_overlap(inst.pk)
    assert held == outcomes["booked"] - outcomes["cancelled"] > 0
    return outcomes


def test_thousands_of_random_overlapping_attempts_never_overlap(world, tomorrow_9, quiet_after_commit, monkeypatch):
    random_race(world, tomorrow_9, monkeypatch, seed=1000)


@pytest.mark.django_db
def test_a_deadlock_while_inserting_is_a_409_not_a_500(world, tomorrow_9):
    """psycopg reports a deadlock (40P01) as OperationalError; the service treats it, like an
    exclusion violation (23P01), as "someone else holds the slot"."""
    from unittest import mock

    from django.db import OperationalError

    class Deadlock(Exception):
        sqlstate = "40P01"

    real_save = Booking.save

    def deadlocked(booking, *args, **kwargs):
        if booking.pk is not None:
            return real_save(booking, *args, **kwargs)
        try:
            raise Deadlock("deadlock detected")
        except Deadlock as cause:
            raise OperationalError("deadlock detected") from cause

    with mock.patch.object(Booking, "save", autospec=True, side_effect=deadlocked):
        r = world.client(world.researcher).post(
            "/api/v1/bookings/",
            {"instrument": world.instrument.pk, "start": tomorrow_9.isoformat(), "end": (tomorrow_9 + H).isoformat()},
            format="json",
        )
    assert r.status_code == 409 and r.json()["code"] == "slot_unavailable"
    assert Booking.objects.count() == 0
