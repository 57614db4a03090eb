"""Safety-form reminders: once a day per blocked session while its approval deadline nears, by mail in the
reader's language and on /ws/me/; none once the form is approved, none for other sessions."""

import datetime as dt

import pytest
from django.core import mail

from common.time import local_tz
from facilities.models import User
from proposals.models import Proposal, ProposalMember, ShiftRequest
from proposals.services import safety_approve, safety_submit, session_confirm, session_place
from proposals.states import MemberRole, ProposalStatus, Track
from proposals.tasks import remind_safety_forms

from .factories.proposals import make_call, office

pytestmark = pytest.mark.usefixtures("tasks_in_process")


@pytest.fixture
def session(world):
    call = make_call(world)
    proposal = Proposal.objects.create(
        call=call,
        track=Track.RAPID,
        principal_investigator=world.researcher,
        institution=world.ustc,
        title="Reminded",
        status=ProposalStatus.AWARDED,
    )
    ProposalMember.objects.create(
        proposal=proposal, user=world.researcher, institution=world.ustc, role=MemberRole.PRINCIPAL_INVESTIGATOR
    )
    request = ShiftRequest.objects.create(
        proposal=proposal, instrument=world.instrument, shifts_requested=2, shifts_awarded=2
    )
    start = dt.datetime.combine(call.cycle_start + dt.timedelta(days=10), dt.time(8), local_tz())
    return session_place(actor=office(world), request_id=request.pk, start=start, shifts=1)


def test_reminders_once_a_day_until_approved(world, session, monkeypatch):
    pushed = []
    monkeypatch.setattr(
        "proposals.tasks.publish_user_notice", lambda **kwargs: pushed.append((kwargs["user_id"], kwargs["kind"]))
    )
    start = session.booking.start
    # Too early: the deadline (7 days before) is more than the reminder window (7 more days) away.
    assert remind_safety_forms(now=(start - dt.timedelta(days=15)).isoformat()) == 0
    day = start - dt.timedelta(days=10)
    mail.outbox.clear()
    remind_safety_forms(now=day.isoformat())
    remind_safety_forms(now=(day + dt.timedelta(hours=2)).isoformat())  # the same day: no second mail
    to_team = [m for m in mail.outbox if world.researcher.email in m.to]
    assert len(to_team) == 1 and "safety form" in to_team[0].subject.lower()
    assert pushed == [(world.researcher.pk, "proposal_safety_reminder")]
    remind_safety_forms(now=(day + dt.timedelta(days=1)).isoformat())  # the next day: again
    assert len([m for m in mail.outbox if world.researcher.email in m.to]) == 2

    session_confirm(actor=world.researcher, session_id=session.pk)
    safety_submit(actor=world.researcher, session_id=session.pk, content="Sealed cells.")
    safety_approve(actor=User.objects.get(username="office"), session_id=session.pk)
    mail.outbox.clear()
    assert remind_safety_forms(now=(day + dt.timedelta(days=2)).isoformat()) == 0
    assert mail.outbox == []


def test_a_reminder_speaks_the_readers_language(world, session):
    world.researcher.language = "zh-hans"
    world.researcher.save()
    mail.outbox.clear()
    remind_safety_forms(now=(session.booking.start - dt.timedelta(days=9)).isoformat())
    to_team = [m for m in mail.outbox if world.researcher.email in m.to]
    assert to_team and "安全表" in to_team[0].subject, [m.subject for m in to_team]
