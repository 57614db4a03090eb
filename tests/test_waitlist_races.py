"""Real threads, each on its own connection: offering a freed slot twice at once offers it once, and
bundles over the same instruments in opposite orders never deadlock."""

import datetime as dt
import threading

import pytest

from booking.models import Booking, WaitlistEntry
from booking.services import booking_bundle_request, booking_cancel, booking_request, waitlist_join
from booking.services.waitlist import offer_next, waitlist_expire_offers
from booking.signals import booking_changed, waitlist_offered
from common.errors import Conflict
from facilities.models.tenants import Role

from .factories.facilities import FundingAccountFactory, InstrumentFactory, UserFactory, member
from .test_races import muted, run_threads

H = dt.timedelta(hours=1)
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_concurrent_offering_offers_once(world, tomorrow_9):
    third = UserFactory(username="third")
    member(third, world.zju, Role.RESEARCHER)
    third.default_account = FundingAccountFactory(institution=world.zju, principal_investigator=third)
    third.save()
    held = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    first = waitlist_join(user=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    waitlist_join(user=third, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    # Cancel without the after-commit receivers, so the race below is the only offering there is.
    with muted(booking_changed):
        booking_cancel(actor=world.researcher, booking_id=held.pk)
    heard, lock = [], threading.Lock()

    def listen(**kw):
        with lock:
            heard.append(kw["entry_id"])

    waitlist_offered.connect(listen, weak=False, dispatch_uid="t-race")
    try:
        # run_threads fails the test if any thread raised.
        run_threads(6, lambda i: offer_next(instrument_id=world.instrument.pk) if i % 2 else waitlist_expire_offers())
    finally:
        waitlist_offered.disconnect(dispatch_uid="t-race")
    assert heard == [first.pk]
    assert list(WaitlistEntry.objects.order_by("id").values_list("status", flat=True)) == ["offered", "waiting"]


def test_bundles_in_opposite_orders_do_not_deadlock(world, tomorrow_9):
    other = InstrumentFactory(facility=world.facility, code="BL2")
    a = {"instrument": world.instrument, "start": tomorrow_9, "end": tomorrow_9 + H}
    b = {"instrument": other, "start": tomorrow_9, "end": tomorrow_9 + H}
    won = []

    def attempt(i: int) -> None:
        try:
            _, bookings = booking_bundle_request(requester=world.researcher, items=[a, b] if i % 2 else [b, a])
            won.append(bookings)
        except Conflict:
            pass

    run_threads(8, attempt)  # fails the test if any thread raised (a deadlock would)
    assert len(won) == 1
    assert Booking.objects.count() == 2
