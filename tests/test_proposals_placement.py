"""Sessions go where the instrument's calendar is open (facilities.calendar: operating hours, public
holidays for facilities that follow the office calendar, closures), as hourly bookings do: placing says
why not, in the reader's language, and suggestions skip closed time."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from common.time import local_tz
from facilities.holidays import office_days
from facilities.models import Closure, OperatingHours
from proposals.models import Proposal, ShiftRequest
from proposals.services import session_place, suggest_slots
from proposals.states import ProposalStatus, Track

from .factories.proposals import make_call, office


@pytest.fixture
def award(world) -> ShiftRequest:
    call = make_call(world)
    proposal = Proposal.objects.create(
        call=call,
        track=Track.RAPID,
        principal_investigator=world.researcher,
        institution=world.ustc,
        title="Placed in open time",
        status=ProposalStatus.AWARDED,
    )
    return ShiftRequest.objects.create(
        proposal=proposal, instrument=world.instrument, shifts_requested=6, shifts_awarded=6
    )


def at8(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(8), local_tz())


def test_a_closure_refuses_a_session_and_suggestions_skip_it(world, award):
    call = award.proposal.call
    first = call.cycle_start + dt.timedelta(days=2)
    Closure.objects.create(
        facility=world.facility,
        instrument=world.instrument,
        start=at8(first) + dt.timedelta(hours=12),
        end=at8(first) + dt.timedelta(days=1),
        reason="Storage ring vacuum work",
    )
    office_user = office(world)
    client = world.client(office_user)
    r = client.post(
        f"/api/v1/proposals/{award.proposal_id}/sessions/",
        {"request": award.pk, "start": at8(first).isoformat(), "shifts": 2},
        format="json",
    )
    assert r.status_code == 400, r.json()
    assert "closed during that session" in r.json()["start"][0] and "vacuum" in r.json()["start"][0]
    r = client.post(
        f"/api/v1/proposals/{award.proposal_id}/sessions/",
        {"request": award.pk, "start": at8(first).isoformat(), "shifts": 2},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert r.status_code == 400 and "不开放" in r.json()["start"][0], r.json()
    # One shift ends before the closure starts: that fits.
    assert session_place(actor=office_user, request_id=award.pk, start=at8(first), shifts=1).shifts == 1

    award.proposal.preferred_dates = [(first + dt.timedelta(days=1)).isoformat(), first.isoformat()]
    award.proposal.save()
    slots = suggest_slots(request=award, shifts=2, count=3)
    assert slots[0] == at8(first + dt.timedelta(days=1))
    assert at8(first) not in slots  # held now, and closed in its second shift


def test_operating_hours_and_holidays_bound_placement(world, award):
    # An instrument open 08:00-20:00 on weekdays only.
    for weekday in range(5):
        OperatingHours.objects.create(
            facility=world.facility, instrument=world.instrument, weekday=weekday, opens=dt.time(8), closes=dt.time(20)
        )
    call = award.proposal.call
    weekday = next(
        call.cycle_start + dt.timedelta(days=i)
        for i in range(3, 10)
        if (call.cycle_start + dt.timedelta(days=i)).weekday() < 5
    )
    saturday = next(
        call.cycle_start + dt.timedelta(days=i)
        for i in range(3, 10)
        if (call.cycle_start + dt.timedelta(days=i)).weekday() == 5
    )
    office_user = office(world)
    with pytest.raises(ValidationError) as refused:
        session_place(actor=office_user, request_id=award.pk, start=at8(weekday), shifts=2)  # runs to midnight
    assert "outside the operating hours" in str(refused.value)
    with pytest.raises(ValidationError) as refused:
        session_place(actor=office_user, request_id=award.pk, start=at8(saturday), shifts=1)
    assert "outside the operating hours" in str(refused.value)
    assert session_place(actor=office_user, request_id=award.pk, start=at8(weekday), shifts=1).shifts == 1
    award.proposal.preferred_dates = [saturday.isoformat()]
    award.proposal.save()
    slots = suggest_slots(request=award, shifts=1, count=10)
    assert slots and all(s.weekday() < 5 for s in slots) and at8(weekday) not in slots
    assert suggest_slots(request=award, shifts=2) == []  # two shifts never fit in twelve hours

    # A facility that follows the office calendar is closed on public holidays.
    OperatingHours.objects.filter(instrument=world.instrument).delete()
    world.facility.follows_office_calendar = True
    world.facility.save()
    days = office_days(call.cycle_start, call.cycle_end)
    holiday = next(day for day, info in sorted(days.items()) if info.kind == "holiday" and day > timezone.localdate())
    with pytest.raises(ValidationError) as refused:
        session_place(actor=office_user, request_id=award.pk, start=at8(holiday), shifts=1)
    assert "closed on" in str(refused.value)
    award.proposal.preferred_dates = [holiday.isoformat()]
    award.proposal.save()
    assert at8(holiday) not in suggest_slots(request=award, shifts=1, count=3)


def test_the_page_says_why_a_session_cannot_go_there(world, award, client):
    first = award.proposal.call.cycle_start + dt.timedelta(days=2)
    Closure.objects.create(
        facility=world.facility, start=at8(first), end=at8(first) + dt.timedelta(hours=4), reason="Injector tuning"
    )
    client.force_login(office(world))
    r = client.post(
        f"/proposals/{award.proposal_id}/place/",
        {"request": award.pk, "start": at8(first).isoformat(), "shifts": 1},
        follow=True,
    )
    texts = [str(m) for m in r.context["messages"]]
    assert any("closed during that session" in t and "Injector tuning" in t for t in texts), texts
    assert not award.sessions.exists()
