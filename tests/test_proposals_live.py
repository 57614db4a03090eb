"""Decisions about a proposal reach the team on /ws/me/, and nobody else."""

import pytest

from booking.live.consumers import MyBookingsConsumer
from proposals.models import Proposal, ProposalNotice
from proposals.services import check_record, proposal_award
from proposals.tasks import send_proposal_notice

from .factories.proposals import make_call, office
from .live_helpers import committed, run
from .test_live_bookings import open_as
from .test_proposals_flow import draft

pytestmark = pytest.mark.usefixtures("tasks_in_process")


@pytest.fixture(autouse=True)
def live_settings(settings, monkeypatch):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


def test_the_team_hears_the_award_live_and_by_mail_once(world, mailoutbox):
    call = make_call(world)
    office_user = office(world)
    pid = draft(world, call, track="rapid", shifts=2)
    world.client(world.researcher).post(f"/api/v1/proposals/{pid}/submit/")
    for kind in ("feasibility", "safety"):
        check_record(actor=office_user, proposal_id=pid, kind=kind, passed=True)

    async def scenario():
        mine = await open_as(MyBookingsConsumer, "/ws/me/", world.researcher)
        theirs = await open_as(MyBookingsConsumer, "/ws/me/", world.outsider)
        await committed(proposal_award)(actor=office_user, proposal_id=pid, awards={world.instrument.pk: 2})
        msg = await mine.receive_json_from(timeout=10)
        assert msg == {"type": "notice", "kind": "proposal_awarded", "data": {"proposal": pid, "status": "awarded"}}
        assert await theirs.receive_nothing(timeout=0.2)
        await mine.disconnect(timeout=10)
        await theirs.disconnect(timeout=10)

    run(scenario)
    assert [m.to for m in mailoutbox if "awarded" in m.subject.lower()] == [[world.researcher.email]]
    # A repeated task mails nobody twice.
    assert send_proposal_notice(proposal_id=pid, kind="awarded", audience="team") == 0
    assert ProposalNotice.objects.filter(proposal_id=pid, kind="awarded").count() == 1
    assert Proposal.objects.get(pk=pid).status == "awarded"
