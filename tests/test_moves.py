import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from booking.models import Booking, BookingEvent
from booking.selectors import availability
from booking.services import booking_cancel, booking_move, booking_request
from booking.signals import booking_changed
from common.errors import Conflict
from facilities.models import Closure, TimeShare

H = dt.timedelta(hours=1)


def test_requester_moves_own_booking_and_it_is_audited(world, tomorrow_9, django_capture_on_commit_callbacks):
    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    v0 = availability(world.instrument, tomorrow_9, tomorrow_9 + 6 * H)["version"]
    heard = []
    booking_changed.connect(
        lambda **kw: heard.append((kw["booking_id"], kw["event"])), weak=False, dispatch_uid="t-moves"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            moved = booking_move(
                actor=world.researcher, booking_id=b.pk, start=tomorrow_9 + 2 * H, end=tomorrow_9 + 4 * H
            )
    finally:
        booking_changed.disconnect(dispatch_uid="t-moves")
    assert (moved.start, moved.end, moved.status) == (tomorrow_9 + 2 * H, tomorrow_9 + 4 * H, Booking.Status.APPROVED)
    assert moved.sequence == b.sequence + 1
    snap = availability(world.instrument, tomorrow_9, tomorrow_9 + 6 * H)
    assert snap["version"] == v0 + 1
    assert snap["busy"] == [{"start": tomorrow_9 + 2 * H, "end": tomorrow_9 + 4 * H, "kind": "booking"}]
    event = BookingEvent.objects.filter(booking=b).last()
    assert event.reason == "moved" and event.actor == world.researcher
    assert event.data == {
        "from": [tomorrow_9.isoformat(), (tomorrow_9 + H).isoformat()],
        "to": [(tomorrow_9 + 2 * H).isoformat(), (tomorrow_9 + 4 * H).isoformat()],
    }
    assert (b.pk, "moved") in heard


def test_move_may_overlap_its_own_old_time_but_not_others(world, tomorrow_9):
    b = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + 2 * H
    )
    booking_request(
        requester=world.outsider, instrument=world.instrument, start=tomorrow_9 + 3 * H, end=tomorrow_9 + 4 * H
    )
    booking_move(actor=world.researcher, booking_id=b.pk, start=tomorrow_9 + H, end=tomorrow_9 + 3 * H)
    with pytest.raises(Conflict) as err:
        booking_move(actor=world.researcher, booking_id=b.pk, start=tomorrow_9 + 2 * H, end=tomorrow_9 + 4 * H)
    assert err.value.code == "slot_unavailable"
    b.refresh_from_db()
    assert (b.start, b.end) == (tomorrow_9 + H, tomorrow_9 + 3 * H)


def test_move_rechecks_rules(world, tomorrow_9):
    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    with pytest.raises(ValidationError, match="Booking unit"):
        booking_move(
            actor=world.researcher, booking_id=b.pk, start=tomorrow_9 + dt.timedelta(minutes=30), end=tomorrow_9 + 2 * H
        )
    with pytest.raises(ValidationError, match="past"):
        booking_move(
            actor=world.researcher,
            booking_id=b.pk,
            start=tomorrow_9 - dt.timedelta(days=3),
            end=tomorrow_9 - dt.timedelta(days=3) + H,
        )
    Closure.objects.create(
        facility=world.facility, start=tomorrow_9 + 5 * H, end=tomorrow_9 + 8 * H, reason="magnet service"
    )
    with pytest.raises(ValidationError, match="magnet service"):
        booking_move(actor=world.researcher, booking_id=b.pk, start=tomorrow_9 + 5 * H, end=tomorrow_9 + 6 * H)


def test_requester_move_of_approved_needs_approval_again_but_manager_move_does_not(world, tomorrow_9):
    world.instrument.requires_approval = True
    world.instrument.save()
    from booking.services import booking_approve

    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    booking_approve(actor=world.manager, booking_id=b.pk)
    moved = booking_move(actor=world.manager, booking_id=b.pk, start=tomorrow_9 + H, end=tomorrow_9 + 2 * H)
    assert moved.status == Booking.Status.APPROVED
    moved = booking_move(actor=world.researcher, booking_id=b.pk, start=tomorrow_9 + 2 * H, end=tomorrow_9 + 3 * H)
    assert moved.status == Booking.Status.REQUESTED and moved.decided_by is None
    assert BookingEvent.objects.filter(booking=b).last().from_status == Booking.Status.APPROVED


def test_you_may_not_move_what_is_not_yours(world, tomorrow_9):
    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    with pytest.raises(Http404):
        booking_move(actor=world.outsider, booking_id=b.pk, start=tomorrow_9 + H, end=tomorrow_9 + 2 * H)
    # Finance sees the booking but may not move it.
    with pytest.raises(PermissionDenied):
        booking_move(actor=world.finance, booking_id=b.pk, start=tomorrow_9 + H, end=tomorrow_9 + 2 * H)
    b.refresh_from_db()
    assert b.start == tomorrow_9


def test_cancelled_booking_cannot_move(world, tomorrow_9):
    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    booking_cancel(actor=world.researcher, booking_id=b.pk)
    with pytest.raises(Conflict) as err:
        booking_move(actor=world.researcher, booking_id=b.pk, start=tomorrow_9 + H, end=tomorrow_9 + 2 * H)
    assert err.value.code == "invalid_transition"


def test_move_does_not_count_itself_against_the_time_share(world, tomorrow_9):
    # Another partner keeps 99.95% of the quarter: a bit over one open hour is left, which the booking takes.
    TimeShare.objects.create(instrument=world.instrument, institution=world.zju, percent="99.95")
    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    moved = booking_move(actor=world.researcher, booking_id=b.pk, start=tomorrow_9 + 2 * H, end=tomorrow_9 + 3 * H)
    assert moved.start == tomorrow_9 + 2 * H
    with pytest.raises(ValidationError, match="hours are left"):
        booking_move(actor=world.researcher, booking_id=b.pk, start=tomorrow_9 + 2 * H, end=tomorrow_9 + 6 * H)
