"""The shift ledger's "used" comes from recorded use, the one definition of used time
(usage.selectors.used_spans, decision 0024), not from the booking's completion alone."""

import datetime as dt

import pytest

from booking.models import Booking
from common.time import local_tz
from facilities.models import User
from proposals.models import BeamSession, Proposal, ShiftRequest
from proposals.selectors import ledgers_for
from proposals.services import session_place
from proposals.states import ProposalStatus, Track
from usage.models import UsageSession

from .factories.proposals import make_call, office


@pytest.fixture
def award(world) -> ShiftRequest:
    call = make_call(world)
    proposal = Proposal.objects.create(
        call=call,
        track=Track.RAPID,
        principal_investigator=world.researcher,
        institution=world.ustc,
        title="Counted from use",
        status=ProposalStatus.AWARDED,
    )
    return ShiftRequest.objects.create(
        proposal=proposal, instrument=world.instrument, shifts_requested=9, shifts_awarded=9
    )


def place(world, award, day: int, shifts: int) -> BeamSession:
    start = dt.datetime.combine(award.proposal.call.cycle_start + dt.timedelta(days=day), dt.time(8), local_tz())
    actor = User.objects.filter(username="office").first() or office(world)
    return session_place(actor=actor, request_id=award.pk, start=start, shifts=shifts)


def ended(session: BeamSession, status: str = Booking.Status.COMPLETED, **times) -> Booking:
    """As if the beam time had passed: the booking layer completed it (or released it as a no-show)."""
    Booking.objects.filter(pk=session.booking_id).update(status=status, **times)
    return Booking.objects.get(pk=session.booking_id)


def ledger(award):
    return ledgers_for(ShiftRequest.objects.filter(pk=award.pk))[0]


def test_used_shifts_are_the_shifts_recorded_use_touched(world, award):
    partly = place(world, award, 1, 3)  # 24 h; the team used the first shift and an hour of the second
    b = ended(partly)
    for s, e in [(0, 5), (6, 9)]:  # a break between 13:00 and 14:00
        UsageSession.objects.create(
            instrument=world.instrument,
            user=world.researcher,
            booking=b,
            start=b.start + dt.timedelta(hours=s),
            end=b.start + dt.timedelta(hours=e),
            last_seen=b.start + dt.timedelta(hours=e),
            source=UsageSession.Source.AGENT,
        )
    row = ledger(award)
    assert (row.used, row.forfeited, row.scheduled, row.used_minutes) == (2, 1, 0, 8 * 60)

    # Completed with no usage session: the actual times recorded on the booking.
    actual = place(world, award, 4, 3)
    b = ended(actual)
    Booking.objects.filter(pk=b.pk).update(actual_start=b.start, actual_end=b.start + dt.timedelta(hours=4))
    row = ledger(award)
    assert (row.used, row.forfeited, row.used_minutes) == (3, 3, 12 * 60)

    # A no-show nobody checked in to: nothing used, all forfeited.
    nobody = place(world, award, 7, 2)
    ended(nobody, Booking.Status.NO_SHOW)
    row = ledger(award)
    assert (row.used, row.forfeited, row.to_schedule) == (3, 5, 1)


def test_the_api_ledger_and_the_page_agree(world, award, client):
    session = place(world, award, 1, 2)
    assert ledger(award).scheduled == 2
    ended(session)  # completed with nothing recorded: the booked times count as used (decision 0024)
    team = world.client(world.researcher)
    row = team.get(f"/api/v1/proposals/{award.proposal_id}/ledger/").json()["instruments"][0]
    assert (row["used"], row["used_hours"], row["forfeited"], row["to_schedule"]) == (2, "16.00", 0, 7)
    client.force_login(world.researcher)
    page = client.get(f"/proposals/{award.proposal_id}/").content.decode()
    assert "Used hours" in page and "<td>16.00</td>" in page
