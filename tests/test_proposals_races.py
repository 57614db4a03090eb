"""A beamtime session and an hourly booking for the same time, at the same moment: exactly one wins.

Real threads on their own connections: on SQLite (a file database) the IMMEDIATE transactions serialize
the writers; on PostgreSQL the instrument lock serializes them and the exclusion constraint
`booking_no_overlap` stands behind it, because a session IS a booking (decision 0019)."""

import datetime as dt
import threading
from collections import Counter

import pytest
from django.utils import timezone

from booking.holds import HELD_STATUSES
from booking.models import Booking
from proposals.models import Proposal, ShiftRequest
from proposals.states import ProposalStatus, Track

from .factories.proposals import make_call, office
from .test_races import quiet_after_commit, run_threads  # noqa: F401 - fixture

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def awarded_request(world) -> ShiftRequest:
    call = make_call(world)
    proposal = Proposal.objects.create(
        call=call,
        track=Track.RAPID,
        principal_investigator=world.researcher,
        institution=world.ustc,
        title="Race",
        abstract="x",
        status=ProposalStatus.AWARDED,
    )
    return ShiftRequest.objects.create(
        proposal=proposal, instrument=world.instrument, shifts_requested=10, shifts_awarded=10
    )


@pytest.mark.parametrize("rounds", [6])
def test_a_session_and_an_hourly_booking_for_the_same_time(world, quiet_after_commit, rounds):  # noqa: F811
    office_user = office(world)
    request = awarded_request(world)
    base = timezone.localtime().replace(hour=8, minute=0, second=0, microsecond=0) + dt.timedelta(days=25)
    outcomes: Counter = Counter()
    lock = threading.Lock()
    for n in range(rounds):
        start = base + dt.timedelta(days=n)
        # The hourly booking lands in the middle of the 8-hour shift.
        hourly = {
            "instrument": world.instrument.pk,
            "start": (start + dt.timedelta(hours=3)).isoformat(),
            "end": (start + dt.timedelta(hours=4)).isoformat(),
        }
        place = {"request": request.pk, "start": start.isoformat(), "shifts": 1}

        def attempt(i: int, place=place, hourly=hourly) -> None:
            if i == 0:
                r = world.client(office_user).post(
                    f"/api/v1/proposals/{request.proposal_id}/sessions/", place, format="json"
                )
                key = ("session", r.status_code)
            else:
                r = world.client(world.outsider).post("/api/v1/bookings/", hourly, format="json")
                key = ("hourly", r.status_code)
            with lock:
                outcomes[key] += 1
            assert r.status_code in (201, 409), r.content

        run_threads(2, attempt)
        held = Booking.objects.filter(
            instrument=world.instrument,
            status__in=HELD_STATUSES,
            start__lt=start + dt.timedelta(hours=8),
            hold_end__gt=start,
        )
        assert held.count() == 1, list(held.values("kind", "start", "end"))
    # Every round had exactly one winner; report which kinds won, for the record.
    assert outcomes[("session", 201)] + outcomes[("hourly", 201)] == rounds
    assert outcomes[("session", 409)] + outcomes[("hourly", 409)] == rounds
