"""PostgreSQL only: real connections racing on calendar flags. One open flag per booking however many
calendar changes are flagged at once, and one decision per flag however many managers decide at once."""

import datetime as dt
from collections import Counter

import pytest
from django.db import connection

from booking.models import Booking, CalendarFlag
from booking.services.flags import flag_cancel, flag_held_bookings, flag_keep
from common.errors import Conflict
from facilities.models import Closure

from .test_races import quiet_after_commit, run_threads  # noqa: F401 - quiet_after_commit is a fixture

H = dt.timedelta(hours=1)
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and partial unique indexes under load"),
    pytest.mark.usefixtures("quiet_after_commit"),
]


def held_bookings(world, start, count):
    return [
        Booking.objects.create(
            instrument=world.instrument,
            requester=world.researcher,
            institution=world.ustc,
            start=start + 2 * n * H,
            end=start + (2 * n + 1) * H,
            hold_end=start + (2 * n + 1) * H,
            status=Booking.Status.APPROVED,
        )
        for n in range(count)
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_flagging_leaves_one_open_flag_per_booking(world, tomorrow_9):
    bookings = held_bookings(world, tomorrow_9, 5)
    Closure.objects.create(facility=world.facility, start=tomorrow_9, end=tomorrow_9 + dt.timedelta(days=1))

    def flag(i: int) -> None:
        flag_held_bookings(
            instrument_ids=[world.instrument.pk], start=tomorrow_9, end=tomorrow_9 + dt.timedelta(days=1), cause="race"
        )

    run_threads(6, flag)
    per_booking = Counter(CalendarFlag.objects.filter(status="open").values_list("booking_id", flat=True))
    assert per_booking == {b.pk: 1 for b in bookings}


@pytest.mark.django_db(transaction=True)
def test_managers_deciding_at_once_make_one_decision(world, tomorrow_9):
    [booking] = held_bookings(world, tomorrow_9, 1)
    flag = CalendarFlag.objects.create(booking=booking, cause="race", reason="of a closure")
    outcome: Counter = Counter()

    def decide(i: int) -> None:
        try:
            if i % 2:
                flag_keep(actor=world.manager, flag_id=flag.pk)
                outcome["kept"] += 1
            else:
                flag_cancel(actor=world.manager, flag_id=flag.pk)
                outcome["cancelled"] += 1
        except Conflict:
            outcome["refused"] += 1

    run_threads(6, decide)
    flag.refresh_from_db()
    booking.refresh_from_db()
    assert outcome["refused"] == 5 and outcome[flag.status] == 1
    assert booking.status == ("cancelled" if flag.status == "cancelled" else "approved")
