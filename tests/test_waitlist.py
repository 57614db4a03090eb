import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from booking.models import Booking, WaitlistEntry
from booking.services import (
    booking_cancel,
    booking_request,
    waitlist_accept,
    waitlist_expire_offers,
    waitlist_join,
    waitlist_withdraw,
)
from booking.services.waitlist import offer_next
from booking.signals import waitlist_offered
from common.errors import Conflict
from facilities.models.tenants import Role

from .factories.facilities import FundingAccountFactory, UserFactory, member

H = dt.timedelta(hours=1)
S = WaitlistEntry.Status


@pytest.fixture
def offers():
    heard = []
    waitlist_offered.connect(lambda **kw: heard.append(kw), weak=False, dispatch_uid="t-waitlist")
    yield heard
    waitlist_offered.disconnect(dispatch_uid="t-waitlist")


@pytest.fixture
def third(world):
    user = UserFactory(username="third")
    member(user, world.zju, Role.RESEARCHER)
    user.default_account = FundingAccountFactory(institution=world.zju, principal_investigator=user)
    user.save()
    return user


def test_free_slot_is_refused(world, tomorrow_9):
    with pytest.raises(ValidationError, match="free: book it"):
        waitlist_join(user=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)


def test_only_researchers_wait_and_not_twice(world, tomorrow_9):
    booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    with pytest.raises(PermissionDenied):
        waitlist_join(user=world.manager, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    with pytest.raises(ValidationError, match="hold part of that time yourself"):
        waitlist_join(user=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    waitlist_join(user=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    with pytest.raises(Conflict) as err:
        waitlist_join(user=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    assert err.value.code == "already_waiting"


def test_cancel_offers_first_in_line_after_commit_then_accept_books(
    world, tomorrow_9, third, offers, django_capture_on_commit_callbacks, settings
):
    settings.WAITLIST_OFFER_MINUTES = 30
    held = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + 2 * H
    )
    first = waitlist_join(user=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    second = waitlist_join(user=third, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(actor=world.researcher, booking_id=held.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (S.OFFERED, S.WAITING)
    assert first.offer_expires_at - first.offered_at == dt.timedelta(minutes=30)
    assert [(o["entry_id"], o["user_id"]) for o in offers] == [(first.pk, world.outsider.pk)]
    with pytest.raises(Http404):
        waitlist_accept(user=third, entry_id=first.pk)
    with pytest.raises(Conflict) as err:
        waitlist_accept(user=third, entry_id=second.pk)
    assert err.value.code == "not_offered"
    entry, booking = waitlist_accept(user=world.outsider, entry_id=first.pk)
    assert entry.status == S.ACCEPTED
    assert (booking.requester, booking.start, booking.status) == (world.outsider, tomorrow_9, Booking.Status.APPROVED)


def test_offering_is_idempotent_and_respects_outstanding_offers(world, tomorrow_9, third, offers):
    held = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + 2 * H
    )
    a = waitlist_join(user=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    b = waitlist_join(user=third, instrument=world.instrument, start=tomorrow_9 + H, end=tomorrow_9 + 2 * H)
    c = waitlist_join(user=third, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + 2 * H)
    assert offer_next(instrument_id=world.instrument.pk) == []  # still held
    booking_cancel(actor=world.researcher, booking_id=held.pk)
    made = offer_next(instrument_id=world.instrument.pk)
    # a and b are disjoint, both offered; c overlaps both outstanding offers and waits.
    assert [e.pk for e in made] == [a.pk, b.pk]
    assert offer_next(instrument_id=world.instrument.pk) == []
    assert waitlist_expire_offers() == {"expired": 0, "offered": 0}
    c.refresh_from_db()
    assert c.status == S.WAITING


def test_expired_offer_passes_to_the_next_and_sweep_is_idempotent(world, tomorrow_9, third):
    held = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    a = waitlist_join(user=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    b = waitlist_join(user=third, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    booking_cancel(actor=world.researcher, booking_id=held.pk)
    now = timezone.now()
    assert waitlist_expire_offers(now) == {"expired": 0, "offered": 1}
    a.refresh_from_db()
    later = a.offer_expires_at + dt.timedelta(seconds=1)
    with pytest.raises(Conflict) as err:
        waitlist_accept(user=world.outsider, entry_id=a.pk, now=later)
    assert err.value.code == "offer_expired"
    assert waitlist_expire_offers(later) == {"expired": 1, "offered": 1}
    assert waitlist_expire_offers(later) == {"expired": 0, "offered": 0}
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, b.status) == (S.EXPIRED, S.OFFERED)


def test_withdrawing_an_offer_passes_it_on(world, tomorrow_9, third, django_capture_on_commit_callbacks):
    held = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    a = waitlist_join(user=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    b = waitlist_join(user=third, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(actor=world.researcher, booking_id=held.pk)
    with pytest.raises(Http404):
        waitlist_withdraw(user=third, entry_id=a.pk)
    with django_capture_on_commit_callbacks(execute=True):
        waitlist_withdraw(user=world.outsider, entry_id=a.pk)
    b.refresh_from_db()
    assert b.status == S.OFFERED
    with pytest.raises(Conflict):
        waitlist_withdraw(user=world.outsider, entry_id=a.pk)


def test_accept_when_someone_else_booked_meanwhile_is_409_and_offer_stays(world, tomorrow_9):
    held = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    a = waitlist_join(user=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    booking_cancel(actor=world.researcher, booking_id=held.pk)
    offer_next(instrument_id=world.instrument.pk)
    booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    with pytest.raises(Conflict) as err:
        waitlist_accept(user=world.outsider, entry_id=a.pk)
    assert err.value.code == "slot_unavailable"
    a.refresh_from_db()
    assert a.status == S.OFFERED


def test_a_closure_or_a_buffer_in_the_way_keeps_the_entry_waiting(world, tomorrow_9):
    from facilities.models import Closure

    world.instrument.buffer_minutes = 30
    world.instrument.save()
    held = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + 2 * H
    )
    early = waitlist_join(user=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    late = waitlist_join(user=world.outsider, instrument=world.instrument, start=tomorrow_9 + H, end=tomorrow_9 + 2 * H)
    booking_cancel(actor=world.researcher, booking_id=held.pk)
    # Someone books right after `late`: its buffer would run into them.
    booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9 + 2 * H, end=tomorrow_9 + 3 * H
    )
    Closure.objects.create(
        facility=world.facility, start=tomorrow_9, end=tomorrow_9 + dt.timedelta(minutes=30), reason="vacuum"
    )
    assert offer_next(instrument_id=world.instrument.pk) == []
    assert set(WaitlistEntry.objects.values_list("status", flat=True)) == {S.WAITING}
    Closure.objects.all().delete()
    assert [e.pk for e in offer_next(instrument_id=world.instrument.pk)] == [early.pk]
    late.refresh_from_db()
    assert late.status == S.WAITING


@pytest.mark.parametrize("how", ["reject", "move"])
def test_rejecting_or_moving_the_holder_offers_the_slot(world, tomorrow_9, how, django_capture_on_commit_callbacks):
    from booking.services import booking_move, booking_reject

    world.instrument.requires_approval = True
    world.instrument.save()
    held = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    entry = waitlist_join(user=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    with django_capture_on_commit_callbacks(execute=True):
        if how == "reject":
            booking_reject(actor=world.manager, booking_id=held.pk, reason="beam time is full")
        else:
            booking_move(actor=world.researcher, booking_id=held.pk, start=tomorrow_9 + 3 * H, end=tomorrow_9 + 4 * H)
    entry.refresh_from_db()
    assert entry.status == S.OFFERED
