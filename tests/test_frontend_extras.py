"""Weekly series, the waitlist, joint search and bundles from the pages."""

import datetime as dt

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking.models import Booking, BookingBundle, WaitlistEntry
from booking.services import booking_cancel, booking_request
from tests.factories.facilities import InstrumentFactory

H = dt.timedelta(hours=1)
W = dt.timedelta(weeks=1)


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


def local_input(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def form_data(world, start, end, **extra):
    return {
        "start": local_input(start),
        "end": local_input(end),
        f"split_{world.researcher_account.pk}": "100",
        **extra,
    }


def test_weekly_series_from_the_form(world, tomorrow_9):
    response = client_for(world.researcher).post(
        reverse("frontend:book", args=[world.instrument.pk]),
        form_data(world, tomorrow_9, tomorrow_9 + H, repeat="3", interval_weeks="1"),
    )
    assert response.status_code == 200
    starts = list(Booking.objects.order_by("start").values_list("start", flat=True))
    assert starts == [tomorrow_9, tomorrow_9 + W, tomorrow_9 + 2 * W]
    assert "3 weekly bookings are made" in response.content.decode()


def test_series_with_a_taken_week_says_which_and_books_nothing_unless_skipping(world, tomorrow_9):
    booking_request(requester=world.outsider, instrument=world.instrument, start=tomorrow_9 + W, end=tomorrow_9 + W + H)
    c = client_for(world.researcher)
    refused = c.post(
        reverse("frontend:book", args=[world.instrument.pk]), form_data(world, tomorrow_9, tomorrow_9 + H, repeat="3")
    )
    assert refused.status_code == 409
    body = refused.content.decode()
    assert "1 of 3 occurrences cannot be booked" in body and "#2" in body
    assert not Booking.objects.filter(requester=world.researcher).exists()
    skipped = c.post(
        reverse("frontend:book", args=[world.instrument.pk]),
        form_data(world, tomorrow_9, tomorrow_9 + H, repeat="3", skip_taken="on"),
    ).content.decode()
    assert Booking.objects.filter(requester=world.researcher).count() == 2
    assert "Skipped because they are taken" in skipped


def test_waitlist_join_offer_accept_from_the_pages(world, tomorrow_9, django_capture_on_commit_callbacks):
    taken = booking_request(requester=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    c = client_for(world.researcher)
    conflict = c.post(
        reverse("frontend:book", args=[world.instrument.pk]), form_data(world, tomorrow_9, tomorrow_9 + H)
    )
    assert "Join the waitlist for this time" in conflict.content.decode()
    joined = c.post(
        reverse("frontend:waitlist_join", args=[world.instrument.pk]), form_data(world, tomorrow_9, tomorrow_9 + H)
    )
    assert "You are on the waitlist" in joined.content.decode()
    entry = WaitlistEntry.objects.get(user=world.researcher)
    assert f'id="wait-{entry.pk}"' in c.get(reverse("frontend:dashboard")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(actor=world.outsider, booking_id=taken.pk)
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED
    page = c.post(reverse("frontend:waitlist_action", args=[entry.pk, "accept"]), follow=True).content.decode()
    assert "The offered time is yours" in page
    assert Booking.objects.get(requester=world.researcher).start == tomorrow_9


def test_someone_elses_waitlist_entry_is_404(world, tomorrow_9):
    booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    from booking.services.waitlist import waitlist_join

    entry = waitlist_join(user=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    assert (
        client_for(world.researcher).post(reverse("frontend:waitlist_action", args=[entry.pk, "withdraw"])).status_code
        == 404
    )
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WAITING


def test_joint_search_and_bundle(world, tomorrow_9):
    other = InstrumentFactory(facility=world.facility, code="BL2")
    booking_request(requester=world.outsider, instrument=other, start=tomorrow_9, end=tomorrow_9 + 2 * H)
    day = timezone.localtime(tomorrow_9).date()
    query = {
        "instruments": [world.instrument.pk, other.pk],
        "duration_hours": 2,
        "start": day.isoformat(),
        "end": (day + dt.timedelta(days=1)).isoformat(),
    }
    c = client_for(world.researcher)
    page = c.get(reverse("frontend:search"), query).content.decode()
    assert "common window" in page
    # BL2 is held 09:00–11:00, so the first window ends at 09:00 and the next starts at 11:00.
    assert f"{day:%Y-%m-%d} 11:00" in page
    booked = c.post(
        reverse("frontend:book_bundle"), {**query, "slot_start": f"{day:%Y-%m-%d}T11:00", "purpose": "Correlative"}
    )
    assert booked.status_code == 200 and "is booked, all together" in booked.content.decode()
    bundle = BookingBundle.objects.get()
    assert sorted(bundle.bookings.values_list("instrument_id", flat=True)) == sorted([world.instrument.pk, other.pk])
    clash = c.post(reverse("frontend:book_bundle"), {**query, "slot_start": f"{day:%Y-%m-%d}T09:00"})
    assert clash.status_code == 409 and "nothing was booked" in clash.content.decode()
    assert BookingBundle.objects.count() == 1  # the refused bundle left nothing behind


def test_joint_search_explains_bad_input(world):
    c = Client()
    one = c.get(
        reverse("frontend:search"),
        {"instruments": [world.instrument.pk], "duration_hours": 1, "start": "2026-12-01", "end": "2026-12-02"},
    ).content.decode()
    assert "Pick at least two instruments" in one
    other = InstrumentFactory(facility=world.facility)
    backwards = c.get(
        reverse("frontend:search"),
        {
            "instruments": [world.instrument.pk, other.pk],
            "duration_hours": 1,
            "start": "2026-12-05",
            "end": "2026-12-01",
        },
    )
    assert backwards.status_code == 200 and "The end must be after the start." in backwards.content.decode()
    assert c.post(reverse("frontend:book_bundle"), {}).status_code == 403
