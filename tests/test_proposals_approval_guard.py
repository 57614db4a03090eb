"""A facility manager cannot approve a beamtime session's booking past its block: the booking layer's one
approval path asks the proposals app (booking.signals.validate_approval), from the console queue, bulk
decisions and the API alike; the session's own release still approves it once it is cleared."""

import datetime as dt

import pytest
from django.utils import timezone, translation

from booking.models import Booking, BookingEvent
from booking.services import booking_approve
from facilities.models import User
from proposals.models import BeamSession, Proposal, ShiftRequest
from proposals.services import safety_approve, safety_submit, session_confirm, session_place
from proposals.states import ProposalStatus, Track

from .factories.booking import BookingFactory
from .factories.proposals import make_call, office


@pytest.fixture
def placed(world) -> BeamSession:
    call = make_call(world)
    proposal = Proposal.objects.create(
        call=call,
        track=Track.RAPID,
        principal_investigator=world.researcher,
        institution=world.ustc,
        title="Guarded",
        status=ProposalStatus.AWARDED,
    )
    request = ShiftRequest.objects.create(
        proposal=proposal, instrument=world.instrument, shifts_requested=3, shifts_awarded=3
    )
    start = dt.datetime.combine(call.cycle_start + dt.timedelta(days=5), dt.time(8), timezone.get_current_timezone())
    return session_place(actor=office(world), request_id=request.pk, start=start, shifts=1)


def _status(session: BeamSession) -> str:
    return Booking.objects.get(pk=session.booking_id).status


def test_the_api_refuses_to_approve_a_blocked_session(world, placed):
    manager = world.client(world.manager)
    r = manager.post(f"/api/v1/bookings/{placed.booking_id}/approve/", {"reason": "looks fine"}, format="json")
    assert r.status_code == 400
    assert "not confirmed yet" in r.json()["detail"] and f"P{placed.request.proposal_id}" in r.json()["detail"]
    assert _status(placed) == Booking.Status.REQUESTED
    assert not BookingEvent.objects.filter(booking_id=placed.booking_id, to_status=Booking.Status.APPROVED).exists()

    session_confirm(actor=world.researcher, session_id=placed.pk)
    url = f"/api/v1/bookings/{placed.booking_id}/approve/"
    r = manager.post(url, {}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 400
    assert "安全" in r.json()["detail"], r.json()  # the safety form, said in Chinese
    assert _status(placed) == Booking.Status.REQUESTED


def test_the_console_queue_refuses_with_a_message(world, placed, client):
    client.force_login(world.manager)
    r = client.post(f"/console/bookings/{placed.booking_id}/approve/", {"reason": ""}, follow=True)
    assert r.status_code == 200
    texts = [str(m) for m in r.context["messages"]]
    assert any("beamtime session" in t and "not confirmed yet" in t for t in texts), texts
    assert _status(placed) == Booking.Status.REQUESTED
    # Deciding several at once: the session is refused by number, an ordinary request beside it is approved.
    hourly = BookingFactory(
        instrument=world.instrument,
        requester=world.outsider,
        institution=world.zju,
        status=Booking.Status.REQUESTED,
        start=placed.booking.start + dt.timedelta(days=3),
        end=placed.booking.start + dt.timedelta(days=3, hours=1),
    )
    r = client.post(
        "/console/bookings/decide/",
        {"action": "approve", "ids": [placed.booking_id, hourly.pk], "reason": ""},
        follow=True,
    )
    texts = [str(m) for m in r.context["messages"]]
    assert any(t.startswith(f"Booking #{placed.booking_id}:") and "beamtime session" in t for t in texts), texts
    assert any(f"#{hourly.pk}" in t and t.startswith("Approved") for t in texts), texts
    assert _status(placed) == Booking.Status.REQUESTED
    assert Booking.objects.get(pk=hourly.pk).status == Booking.Status.APPROVED


def test_the_guard_speaks_chinese_on_the_page(world, placed, client):
    client.force_login(world.manager)
    session_confirm(actor=world.researcher, session_id=placed.pk)
    with translation.override("zh-hans"):
        r = client.post(
            f"/console/bookings/{placed.booking_id}/approve/",
            {"reason": ""},
            follow=True,
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
    texts = [str(m) for m in r.context["messages"]]
    assert any("安全" in t for t in texts), texts


def test_a_cleared_session_is_released_and_hourly_bookings_are_untouched(world, placed):
    session_confirm(actor=world.researcher, session_id=placed.pk)
    safety_submit(actor=world.researcher, session_id=placed.pk, content="Sealed cells.")
    safety_approve(actor=User.objects.get(username="office"), session_id=placed.pk)
    assert _status(placed) == Booking.Status.APPROVED
    # A beamtime booking no session claims (none is made so, but the guard must not trip on one).
    other = BookingFactory(
        instrument=world.instrument,
        requester=world.researcher,
        institution=world.ustc,
        status=Booking.Status.REQUESTED,
        kind=Booking.Kind.BEAMTIME,
        start=placed.booking.start + dt.timedelta(days=4),
        end=placed.booking.start + dt.timedelta(days=4, hours=8),
    )
    assert booking_approve(actor=world.manager, booking_id=other.pk).status == Booking.Status.APPROVED
