import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from booking.models import Booking, BookingEvent
from booking.selectors import availability
from booking.services import booking_approve, booking_cancel, booking_request
from common.errors import Conflict

H = dt.timedelta(hours=1)


def test_request_then_overlap_is_refused_with_conflicts(world, tomorrow_9):
    first = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + 2 * H
    )
    assert first.status == Booking.Status.APPROVED
    assert [(s.account_id, s.percent) for s in first.splits.all()] == [(world.researcher_account.pk, 100)]
    with pytest.raises(Conflict) as err:
        booking_request(
            requester=world.outsider, instrument=world.instrument, start=tomorrow_9 + H, end=tomorrow_9 + 3 * H
        )
    assert err.value.code == "slot_unavailable"
    assert err.value.extra["conflicts"] == [{"start": first.start.isoformat(), "end": first.end.isoformat()}]
    # Touching is not overlapping: intervals are half-open.
    second = booking_request(
        requester=world.outsider, instrument=world.instrument, start=tomorrow_9 + 2 * H, end=tomorrow_9 + 3 * H
    )
    assert second.pk


def test_cancel_frees_slot_and_bumps_version(world, tomorrow_9):
    v0 = availability(world.instrument, tomorrow_9, tomorrow_9 + 4 * H)["version"]
    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    snap = availability(world.instrument, tomorrow_9, tomorrow_9 + 4 * H)
    assert snap["version"] == v0 + 1
    assert snap["busy"] == [{"start": tomorrow_9, "end": tomorrow_9 + H, "kind": "booking"}]
    booking_cancel(actor=world.researcher, booking_id=b.pk, reason="plans changed")
    snap = availability(world.instrument, tomorrow_9, tomorrow_9 + 4 * H)
    assert snap["version"] == v0 + 2 and snap["busy"] == []
    assert list(BookingEvent.objects.filter(booking=b).values_list("from_status", "to_status")) == [
        ("", "approved"),
        ("approved", "cancelled"),
    ]
    again = booking_request(requester=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    assert again.status == Booking.Status.APPROVED


def test_approval_flow_and_invalid_transition(world, tomorrow_9):
    world.instrument.requires_approval = True
    world.instrument.save()
    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    assert b.status == Booking.Status.REQUESTED
    booking_approve(actor=world.manager, booking_id=b.pk)
    with pytest.raises(Conflict) as err:
        booking_approve(actor=world.manager, booking_id=b.pk)
    assert err.value.code == "invalid_transition"


@pytest.mark.parametrize(
    "shift,length,message",
    [
        (dt.timedelta(minutes=30), H, "Booking unit"),
        (dt.timedelta(0), dt.timedelta(hours=25), "Maximum duration"),
        (dt.timedelta(days=-2), H, "past"),
        (dt.timedelta(days=400), H, "Booking horizon"),
    ],
)
def test_rules_name_themselves(world, tomorrow_9, shift, length, message):
    with pytest.raises(ValidationError) as err:
        booking_request(
            requester=world.researcher,
            instrument=world.instrument,
            start=tomorrow_9 + shift,
            end=tomorrow_9 + shift + length,
        )
    assert message in str(err.value)
