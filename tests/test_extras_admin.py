"""The booking admin goes through the services: actions obey the rules and leave an audit trail."""

import datetime as dt

from booking.models import Booking, BookingEvent
from booking.services import booking_request
from booking.services.series import booking_series_request

H = dt.timedelta(hours=1)
URL = "/admin/booking/booking/"


def _act(client, action, *ids):
    return client.post(URL, {"action": action, "_selected_action": [str(i) for i in ids], "index": "0"}, follow=True)


def test_admin_actions_use_the_services(client, world, tomorrow_9):
    world.instrument.requires_approval = True
    world.instrument.save()
    a = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    b = booking_request(
        requester=world.outsider, instrument=world.instrument, start=tomorrow_9 + H, end=tomorrow_9 + 2 * H
    )
    client.force_login(world.admin)
    r = _act(client, "approve", a.pk)
    assert r.status_code == 200
    a.refresh_from_db()
    assert a.status == Booking.Status.APPROVED and a.decided_by == world.admin
    assert BookingEvent.objects.filter(booking=a, to_status="approved", actor=world.admin).exists()
    # An illegal transition is refused with the service's words; the other booking is still handled.
    r = _act(client, "reject", a.pk, b.pk)
    assert "cannot be rejected" in r.content.decode()
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, b.status) == (Booking.Status.APPROVED, Booking.Status.REJECTED)
    _act(client, "cancel", a.pk)
    a.refresh_from_db()
    assert a.status == Booking.Status.CANCELLED


def test_admin_cannot_edit_add_or_delete_rows(client, world, tomorrow_9):
    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    client.force_login(world.admin)
    assert client.get(f"{URL}add/").status_code == 403
    page = client.get(f"{URL}{b.pk}/change/")
    assert page.status_code == 200 and 'name="start"' not in page.content.decode()
    client.post(f"{URL}{b.pk}/change/", {"status": "cancelled"})
    b.refresh_from_db()
    assert b.status == Booking.Status.APPROVED
    assert client.post(f"{URL}{b.pk}/delete/", {"post": "yes"}).status_code == 403


def test_admin_lists_search_and_filters(client, world, tomorrow_9):
    booking_series_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H, count=2
    )
    client.force_login(world.admin)
    for url in (
        URL,
        f"{URL}?status__exact=approved",
        f"{URL}?q=res",
        "/admin/booking/bookingseries/",
        "/admin/booking/waitlistentry/",
        "/admin/booking/bookingevent/",
        "/admin/booking/bookingbundle/",
    ):
        assert client.get(url).status_code == 200, url
    assert client.get(f"{URL}?q=res").content.decode().count("/admin/booking/booking/") >= 2


def test_staff_manager_sees_only_their_facilities(client, world, tomorrow_9):
    from .factories.facilities import FacilityFactory, InstrumentFactory

    other = InstrumentFactory(facility=FacilityFactory(code="ELSE", host=world.zju), code="X1")
    mine = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    theirs = booking_request(requester=world.researcher, instrument=other, start=tomorrow_9, end=tomorrow_9 + H)
    world.manager.is_staff = True
    world.manager.save()
    from django.contrib.auth.models import Permission

    world.manager.user_permissions.add(Permission.objects.get(codename="view_booking"))
    client.force_login(world.manager)
    assert client.get(f"{URL}{mine.pk}/change/").status_code == 200
    assert client.get(f"{URL}{theirs.pk}/change/").status_code == 302  # "does not exist" → back to the list
    _act(client, "cancel", theirs.pk)
    theirs.refresh_from_db()
    assert theirs.status == Booking.Status.APPROVED
