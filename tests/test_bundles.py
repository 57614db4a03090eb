import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from booking.models import Booking, BookingBundle
from booking.services import booking_bundle_request, booking_request
from common.errors import Conflict
from facilities.models import Instrument

from .factories.facilities import InstrumentFactory

H = dt.timedelta(hours=1)


@pytest.fixture
def second(world) -> Instrument:
    return InstrumentFactory(facility=world.facility, code="BL2", requires_approval=True)


def test_bundle_books_every_item_together(world, tomorrow_9, second):
    bundle, bookings = booking_bundle_request(
        requester=world.researcher,
        items=[
            {"instrument": second, "start": tomorrow_9, "end": tomorrow_9 + 2 * H},
            {"instrument": world.instrument, "start": tomorrow_9 + 2 * H, "end": tomorrow_9 + 3 * H},
        ],
        purpose="sample prep then measurement",
    )
    assert [b.instrument_id for b in bookings] == [second.pk, world.instrument.pk]
    assert [b.status for b in bookings] == [Booking.Status.REQUESTED, Booking.Status.APPROVED]
    assert all(b.bundle_id == bundle.pk for b in bookings)
    assert bundle.purpose == "sample prep then measurement"


def test_bundle_is_all_or_nothing_with_conflicts_per_item(world, tomorrow_9, second):
    taken = booking_request(requester=world.outsider, instrument=second, start=tomorrow_9 + H, end=tomorrow_9 + 2 * H)
    versions = dict(Instrument.objects.values_list("pk", "availability_version"))
    with pytest.raises(Conflict) as err:
        booking_bundle_request(
            requester=world.researcher,
            items=[
                {"instrument": world.instrument, "start": tomorrow_9, "end": tomorrow_9 + H},
                {"instrument": second, "start": tomorrow_9, "end": tomorrow_9 + 2 * H},
            ],
        )
    assert err.value.code == "bundle_unavailable"
    (item,) = err.value.extra["items"]
    assert item["item"] == 2 and item["instrument"] == second.pk
    assert item["conflicts"] == [{"start": taken.start.isoformat(), "end": taken.end.isoformat()}]
    assert not Booking.objects.filter(requester=world.researcher).exists()
    assert not BookingBundle.objects.exists()
    assert dict(Instrument.objects.values_list("pk", "availability_version")) == versions


def test_bundle_items_may_not_overlap_each_other(world, tomorrow_9):
    with pytest.raises(Conflict) as err:
        booking_bundle_request(
            requester=world.researcher,
            items=[
                {"instrument": world.instrument, "start": tomorrow_9, "end": tomorrow_9 + 2 * H},
                {"instrument": world.instrument, "start": tomorrow_9 + H, "end": tomorrow_9 + 3 * H},
            ],
        )
    assert [i["item"] for i in err.value.extra["items"]] == [2]
    assert not Booking.objects.exists()


def test_bundle_rule_names_the_item(world, tomorrow_9, second):
    with pytest.raises(ValidationError) as err:
        booking_bundle_request(
            requester=world.researcher,
            items=[
                {"instrument": world.instrument, "start": tomorrow_9, "end": tomorrow_9 + H},
                {"instrument": second, "start": tomorrow_9 + dt.timedelta(minutes=30), "end": tomorrow_9 + 2 * H},
            ],
        )
    assert "Item 2 (BL2)" in str(err.value) and "Booking unit" in str(err.value)
    assert not Booking.objects.exists()


def test_bundle_needs_items(world):
    with pytest.raises(ValidationError, match="at least one"):
        booking_bundle_request(requester=world.researcher, items=[])
