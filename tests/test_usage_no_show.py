"""No-shows released: nobody checked in within the instrument's grace time, so the booking becomes a
no-show through the state machine, the rest of its slot is free at once, the waitlist is offered it and
billing's no-show fee applies."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Charge, ChargePolicy
from booking.models import Booking, BookingEvent, WaitlistEntry
from booking.selectors import availability
from booking.services.waitlist import waitlist_accept
from facilities.models import RateCard
from usage.models import UsageSettings
from usage.services import checkin_start, release_no_shows
from usage.tasks import release_no_shows_task

from .factories.booking import BookingFactory
from .factories.facilities import FundingAccountFactory, UserFactory, member

M = dt.timedelta(minutes=1)
pytestmark = pytest.mark.usefixtures("tasks_in_process")


@pytest.fixture
def scene(world):
    """An approved booking of the whole current hour block that began 20 minutes ago, and a second
    researcher waiting for that very slot."""
    now = timezone.now().replace(second=0, microsecond=0)
    now -= (now.minute % 10) * M  # on the 10-minute booking unit, as the booking rules want
    world.instrument.booking_unit_minutes = 10
    world.instrument.save()
    start = now - 20 * M
    RateCard.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=Decimal("300"))
    ChargePolicy.objects.create(instrument=world.instrument, no_show_percent=Decimal("50"))
    booking = BookingFactory(
        instrument=world.instrument,
        requester=world.researcher,
        institution=world.ustc,
        start=start,
        end=start + 120 * M,
        account=world.researcher_account,
    )
    from billing.services.rates import snapshot_rate

    snapshot_rate(booking=booking, new_booking=True)
    waiting = UserFactory(username="waiting")
    member(waiting, world.ustc, "researcher")
    waiting.default_account = FundingAccountFactory(institution=world.ustc, principal_investigator=waiting)
    waiting.save()
    entry = WaitlistEntry.objects.create(instrument=world.instrument, user=waiting, start=start, end=booking.end)
    return now, booking, entry


def test_without_a_setting_nothing_is_released(world, scene):
    now, booking, _ = scene
    assert release_no_shows(now=now) == 0
    booking.refresh_from_db()
    assert booking.status == "approved"


def test_a_check_in_keeps_the_booking(world, scene, committed):
    now, booking, _ = scene
    UsageSettings.objects.create(instrument=world.instrument, no_show_after_minutes=15)
    checkin_start(user=world.researcher, instrument=world.instrument, now=now - 10 * M)
    assert committed(release_no_shows, now=now) == 0
    booking.refresh_from_db()
    assert booking.status == "approved"


def test_before_the_grace_time_nothing_happens(world, scene):
    now, booking, _ = scene
    UsageSettings.objects.create(instrument=world.instrument, no_show_after_minutes=30)
    assert release_no_shows(now=now) == 0


def test_no_show_frees_the_rest_of_the_slot_offers_it_and_charges_the_fee(world, scene, committed):
    now, booking, entry = scene
    UsageSettings.objects.create(instrument=world.instrument, no_show_after_minutes=15)
    version = world.instrument.availability_version
    window = availability(world.instrument, booking.start, booking.end)
    assert window["free"] == []
    assert committed(release_no_shows_task, now=now.isoformat()) == 1
    booking.refresh_from_db()
    assert booking.status == Booking.Status.NO_SHOW
    event = BookingEvent.objects.filter(booking=booking).last()
    assert (event.to_status, event.actor_id) == ("no_show", None) and "15 minutes" in event.reason
    world.instrument.refresh_from_db()
    assert world.instrument.availability_version > version  # open calendars are told at once
    rest = availability(world.instrument, now, booking.end)
    assert rest["busy"] == [] or all(b["kind"] == "closure" for b in rest["busy"])
    charge = Charge.objects.get(booking=booking)
    assert (charge.kind, charge.gross) == ("no_show", Decimal("300.00"))  # 50% of 2 h at 300
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED
    assert now <= entry.start < booking.end and entry.offer_expires_at > now
    # Accepting books the rest of the slot through the ordinary request path.
    _, taken = waitlist_accept(user=entry.user, entry_id=entry.pk, now=now + M)
    assert taken.status in ("approved", "requested") and taken.start == entry.start and taken.end == booking.end
    assert release_no_shows(now=now) == 0  # idempotent


def test_the_sweep_skips_bookings_decided_in_between(world, scene):
    now, booking, _ = scene
    UsageSettings.objects.create(instrument=world.instrument, no_show_after_minutes=15)
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CANCELLED)
    assert release_no_shows(now=now) == 0
