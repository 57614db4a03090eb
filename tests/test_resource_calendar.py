"""The resource calendar: a facility's instruments in one day/week timeline; decide and move from it."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from booking.models import Booking
from booking.services import booking_request
from facilities.models import Closure

from .factories.facilities import FacilityFactory, InstrumentFactory, UserFactory, member

H = dt.timedelta(hours=1)


def client_for(user=None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def url(code="FAC", **query):
    base = reverse("frontend:resource_calendar", args=[code])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.fixture
def busy(world, tomorrow_9):
    world.instrument.requires_approval = True
    world.instrument.save()
    other = InstrumentFactory(facility=world.facility, code="BL2")
    requested = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + 2 * H
    )
    approved = booking_request(requester=world.outsider, instrument=other, start=tomorrow_9 + H, end=tomorrow_9 + 3 * H)
    Closure.objects.create(
        facility=world.facility,
        instrument=other,
        start=tomorrow_9 + 5 * H,
        end=tomorrow_9 + 7 * H,
        reason="cryo refill",
    )
    world.requested, world.approved, world.other = requested, approved, other
    return world


def test_the_day_shows_every_instrument_with_who_holds_what(busy, tomorrow_9):
    w = busy
    page = client_for(w.manager).get(url(day=tomorrow_9.date().isoformat())).content.decode()
    assert ">BL1</text>" in page and ">BL2</text>" in page
    assert f'<a href="#booking-{w.requested.pk}"><rect class="slot requested"' in page
    assert f'<a href="#booking-{w.approved.pk}"><rect class="slot approved"' in page
    assert 'class="slot closure"' in page and "cryo refill" in page
    assert f"#{w.requested.pk} res (USTC)" in page and f"#{w.approved.pk} out (ZJU)" in page
    assert 'data-live-socket="/ws/queue/"' in page and " style=" not in page


def test_the_week_view_covers_seven_days(busy, tomorrow_9):
    page = client_for(busy.manager).get(url(view="week", day=tomorrow_9.date().isoformat())).content.decode()
    assert page.count('class="tick"') == 7 and f'id="booking-{busy.requested.pk}"' in page


def test_approve_and_reject_from_the_grid_come_back_to_it(busy, tomorrow_9):
    w = busy
    here = url(day=tomorrow_9.date().isoformat())
    r = client_for(w.manager).post(reverse("frontend:decide", args=[w.requested.pk, "approve"]), {"next": here})
    assert r.status_code == 302 and r["Location"] == here
    assert Booking.objects.get(pk=w.requested.pk).status == "approved"


def test_move_from_the_grid_keeps_the_length(busy, tomorrow_9):
    w = busy
    new_start = tomorrow_9 + 10 * H
    r = client_for(w.manager).post(
        reverse("frontend:resource_move", args=["FAC", w.requested.pk]),
        {"start": new_start.strftime("%Y-%m-%dT%H:%M"), "next": url()},
        follow=True,
    )
    assert f"Booking #{w.requested.pk} is moved." in r.content.decode()
    b = Booking.objects.get(pk=w.requested.pk)
    assert b.start == new_start and b.end == new_start + 2 * H


def test_a_refused_move_is_said_in_words(busy, tomorrow_9):
    w = busy
    r = client_for(w.manager).post(
        reverse("frontend:resource_move", args=["FAC", w.requested.pk]),
        {"start": "not a time"},
        follow=True,
    )
    assert r.status_code == 200 and 'role="alert"' in r.content.decode()
    assert Booking.objects.get(pk=w.requested.pk).start == tomorrow_9


def test_who_may_not_see_or_use_it(busy):
    w = busy
    stranger = UserFactory(username="else-mgr")
    member(stranger, w.zju, "facility_manager", [FacilityFactory(code="ELSE")])
    assert client_for(stranger).get(url()).status_code == 404
    move = reverse("frontend:resource_move", args=["FAC", w.requested.pk])
    assert client_for(stranger).post(move, {"start": "2030-01-01T09:00"}).status_code == 404
    for user in (w.researcher, w.finance):
        assert client_for(user).get(url()).status_code == 403
        assert client_for(user).post(move, {"start": "2030-01-01T09:00"}).status_code == 403
    assert client_for().get(url()).status_code == 302
    assert Booking.objects.get(pk=w.requested.pk).start == w.requested.start


@pytest.mark.parametrize("query", [{"day": "yesterday"}, {"day": "9999-12-31"}, {"view": "year"}, {"day": "x" * 500}])
def test_odd_input_is_never_a_500(busy, query):
    assert client_for(busy.manager).get(url(**query)).status_code == 200


def test_it_reads_in_chinese(busy, tomorrow_9):
    c = client_for(busy.manager)
    c.post(reverse("frontend:language"), {"language": "zh-hans", "next": "/console/"})
    page = c.get(url(day=tomorrow_9.date().isoformat())).content.decode()
    assert "资源日历" in page and "待批准" in page


@pytest.mark.parametrize("per_instrument", [1, 4])
def test_twenty_instruments_and_a_busy_week_in_a_fixed_number_of_queries(
    world, tomorrow_9, per_instrument, django_assert_max_num_queries
):
    instruments = [InstrumentFactory(facility=world.facility, code=f"I{n:02d}") for n in range(19)] + [world.instrument]
    monday = tomorrow_9 + dt.timedelta(days=7 - tomorrow_9.weekday())  # a whole week ahead, Monday to Friday
    for inst in instruments:
        for k in range(per_instrument):
            start = monday + dt.timedelta(days=k % 5) + (k // 5) * 3 * H
            booking_request(requester=world.researcher, instrument=inst, start=start, end=start + 2 * H)
    c = client_for(world.manager)
    with django_assert_max_num_queries(10):
        page = c.get(url(view="week", day=monday.date().isoformat())).content.decode()
    assert page.count('<tr id="booking-') == 20 * per_instrument
    with django_assert_max_num_queries(10):
        fragment = c.get(reverse("frontend:resource_timeline", args=["FAC"]) + f"?view=week&day={monday.date()}")
    assert fragment.content.decode().lstrip().startswith('<div id="timeline">')


def test_decisions_from_the_live_fragment_come_back_to_the_page(busy, tomorrow_9):
    day = tomorrow_9.date().isoformat()
    fragment = (
        client_for(busy.manager)
        .get(reverse("frontend:resource_timeline", args=["FAC"]) + f"?view=day&day={day}")
        .content.decode()
    )
    assert f'name="next" value="{url(view="day", day=day).replace("&", "&amp;")}"' in fragment
