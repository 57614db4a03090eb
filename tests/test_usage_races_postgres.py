"""PostgreSQL only: real connections racing through the usage services. One open use per instrument,
however many people scan its code at once; a check-in racing the no-show release: exactly one wins."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from booking.models import Booking
from common.errors import Conflict
from usage.models import UsageSession, UsageSettings
from usage.services import checkin_start, release_no_shows

from .factories.booking import BookingFactory
from .factories.facilities import UserFactory, member
from .test_races import quiet_after_commit, run_threads  # noqa: F401 - quiet_after_commit is a fixture

M = dt.timedelta(minutes=1)
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


@pytest.mark.django_db(transaction=True)
def test_many_walk_ups_at_once_make_one_session(world, quiet_after_commit):  # noqa: F811
    people = [UserFactory(username=f"walker{i}") for i in range(8)]
    for p in people:
        member(p, world.ustc, "researcher")
    won, refused = [], []

    def scan(i: int) -> None:
        try:
            won.append(checkin_start(user=people[i], instrument=world.instrument).pk)
        except Conflict as exc:
            refused.append(exc.code)

    run_threads(8, scan)
    assert len(won) == 1 and refused == ["in_use"] * 7
    assert UsageSession.objects.filter(instrument=world.instrument, end__isnull=True).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(4))
def test_a_late_check_in_and_the_no_show_release_do_not_both_win(world, quiet_after_commit, attempt):  # noqa: F811
    now = timezone.now().replace(microsecond=0)
    UsageSettings.objects.create(instrument=world.instrument, no_show_after_minutes=15)
    booking = BookingFactory(
        instrument=world.instrument,
        requester=world.researcher,
        institution=world.ustc,
        start=now - 20 * M,
        end=now + 40 * M,
    )
    released: list[int] = []

    def act(i: int) -> None:
        if i == 0:
            released.append(release_no_shows(now=now))
        else:
            checkin_start(user=world.researcher, instrument=world.instrument, now=now)

    run_threads(2, act)
    booking.refresh_from_db()
    linked = UsageSession.objects.filter(booking=booking).count()
    if booking.status == Booking.Status.NO_SHOW:
        # Released first: the check-in that followed is walk-up use of the freed slot, not the booking's.
        assert released == [1] and linked == 0
    else:
        assert booking.status == Booking.Status.APPROVED and released == [0] and linked == 1
