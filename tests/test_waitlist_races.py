"""Real threads, each on its own connection: offering a freed slot twice at once offers it once, and
bundles over the same instruments in opposite orders never deadlock."""

import datetime as dt
import threading

import pytest
from django.db import connection

from booking.models import Booking, WaitlistEntry
from booking.services import booking_bundle_request, booking_cancel, booking_request, waitlist_join
from booking.services.waitlist import offer_next, waitlist_expire_offers
from booking.signals import booking_changed, waitlist_offered
from facilities.errors import Conflict
from facilities.models.tenants import Role

from .factories.facilities import FundingAccountFactory, InstrumentFactory, UserFactory, member

H = dt.timedelta(hours=1)
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def race(count: int, target) -> list[BaseException]:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            target(i)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a thread hung: a lock was never released"
    return errors


def test_concurrent_offering_offers_once(world, tomorrow_9):
    third = UserFactory(username="third")
    member(third, world.zju, Role.RESEARCHER)
    third.default_account = FundingAccountFactory(institution=world.zju, principal_investigator=third)
    third.save()
    held = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    first = waitlist_join(user=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    waitlist_join(user=third, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    # Cancel without the after-commit receivers, so the race below is the only offering there is.
    saved, booking_changed.receivers = booking_changed.receivers, []
    booking_changed.sender_receivers_cache.clear()
    try:
        booking_cancel(actor=world.researcher, booking_id=held.pk)
    finally:
        booking_changed.receivers = saved
        booking_changed.sender_receivers_cache.clear()
    heard, lock = [], threading.Lock()

    def listen(**kw):
        with lock:
            heard.append(kw["entry_id"])

    waitlist_offered.connect(listen, weak=False, dispatch_uid="t-race")
    try:
        errors = race(6, lambda i: offer_next(instrument_id=world.instrument.pk) if i % 2 else waitlist_expire_offers())
    finally:
        waitlist_offered.disconnect(dispatch_uid="t-race")
    assert errors == []
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

    errors = race(8, attempt)
    assert errors == []
    assert len(won) == 1
    assert Booking.objects.count() == 2
