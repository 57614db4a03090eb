"""PostgreSQL only: the exclusion constraint `booking_no_overlap` as the last word, and real
connections racing through the service."""

import datetime as dt
from collections import Counter
from unittest import mock

import pytest
from django.db import IntegrityError, connection, transaction

from booking.holds import HELD_STATUSES, BookingQuerySet
from booking.models import Booking
from booking.services import booking_request
from common.errors import Conflict

from .test_races import quiet_after_commit, random_race, run_threads  # noqa: F401 - quiet_after_commit is a fixture

H = dt.timedelta(hours=1)
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="exclusion constraints and row locks need PostgreSQL"),
]


def raw_booking(world, start, end, status=Booking.Status.APPROVED, hold_end=None):
    return Booking.objects.create(
        instrument=world.instrument,
        requester=world.researcher,
        institution=world.ustc,
        start=start,
        end=end,
        hold_end=hold_end or end,
        status=status,
    )


@pytest.mark.django_db
def test_exclusion_constraint_refuses_an_overlap_written_past_the_service(world, tomorrow_9):
    raw_booking(world, tomorrow_9, tomorrow_9 + 2 * H)
    with pytest.raises(IntegrityError) as err, transaction.atomic():
        raw_booking(world, tomorrow_9 + H, tomorrow_9 + 3 * H)
    assert err.value.__cause__.sqlstate == "23P01"
    assert "booking_no_overlap" in str(err.value)
    # The buffer counts: a hold_end reaching into the next booking is refused too.
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_booking(world, tomorrow_9 - H, tomorrow_9, hold_end=tomorrow_9 + dt.timedelta(minutes=30))
    # Touching is fine, and rows that no longer hold the slot do not count.
    raw_booking(world, tomorrow_9 + 2 * H, tomorrow_9 + 3 * H)
    raw_booking(world, tomorrow_9, tomorrow_9 + H, status=Booking.Status.CANCELLED)
    assert Booking.objects.filter(status__in=HELD_STATUSES).count() == 2


@pytest.mark.django_db
def test_a_constraint_violation_inside_the_service_becomes_409(world, tomorrow_9):
    """Should the check ever miss a held row, the constraint refuses it and the client gets 409."""
    raw_booking(world, tomorrow_9, tomorrow_9 + H)
    with mock.patch.object(BookingQuerySet, "conflicts", side_effect=[[], [(tomorrow_9, tomorrow_9 + H)]]):
        r = world.client(world.outsider).post(
            "/api/v1/bookings/",
            {"instrument": world.instrument.pk, "start": tomorrow_9.isoformat(), "end": (tomorrow_9 + H).isoformat()},
            format="json",
        )
    assert r.status_code == 409 and r.json()["code"] == "slot_unavailable"
    assert r.json()["conflicts"] == [{"start": tomorrow_9.isoformat(), "end": (tomorrow_9 + H).isoformat()}]
    assert Booking.objects.count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_plain_inserts_racing_for_one_slot_leave_one_row(world, tomorrow_9):
    """Without the service's row lock, concurrent inserts of one range meet the constraint directly
    (23P01, or 40P01 when they deadlock on each other's index entries); exactly one survives."""
    codes: Counter = Counter()

    def insert(i: int) -> None:
        try:
            with transaction.atomic():
                raw_booking(world, tomorrow_9, tomorrow_9 + H)
            codes["inserted"] += 1
        except Exception as exc:  # noqa: BLE001 - classified below
            codes[getattr(exc.__cause__, "sqlstate", repr(exc))] += 1

    with connection.cursor() as c:
        c.execute("SELECT 1")
    run_threads(6, insert, timeout=60)
    assert codes["inserted"] == 1
    assert set(codes) <= {"inserted", "23P01", "40P01"}, codes
    assert Booking.objects.count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("quiet_after_commit")
def test_sixteen_connections_one_slot(world, tomorrow_9):
    results: Counter = Counter()

    def attempt(i: int) -> None:
        try:
            booking_request(
                requester=world.researcher if i % 2 else world.outsider,
                instrument=world.instrument,
                start=tomorrow_9,
                end=tomorrow_9 + H,
            )
            results["booked"] += 1
        except Conflict as exc:
            results[exc.code] += 1

    run_threads(16, attempt)
    assert results == Counter({"booked": 1, "slot_unavailable": 15})


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("quiet_after_commit")
def test_random_overlapping_attempts_on_postgres(world, tomorrow_9, monkeypatch):
    """The random race of test_races on real PostgreSQL connections: instrument lock and exclusion
    constraint together."""
    random_race(world, tomorrow_9, monkeypatch, seed=2000)
