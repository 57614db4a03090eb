"""The instrument's week calendar: the instrument's own unit, always-closed hours left out, the viewer's own
bookings and requests told apart from others', blocks across midnight with their times, a day at a time on
a phone (the column the page shows), and the table alone for the live redraw."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking.services import booking_request
from facilities.models import OperatingHours
from frontend.week import row_minutes

from .factories.facilities import InstrumentFactory

H = dt.timedelta(hours=1)


def client_for(user=None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def week_page(user, instrument, week: dt.date, **extra) -> str:
    url = reverse("frontend:instrument", args=[instrument.pk])
    return client_for(user).get(url, {"week": week.isoformat(), **extra}).content.decode()


def cell(page: str, moment: dt.datetime) -> str:
    """The <td …>…</td> that starts at `moment`, attributes included."""
    iso = timezone.localtime(moment).isoformat()
    found = re.search(rf'<td class="[^"]*" data-start="{re.escape(iso)}".*?</td>', page, re.S)
    assert found, f"no cell at {iso}"
    return found.group(0)


def row_labels(page: str) -> list[str]:
    return re.findall(r'<th class="time" scope="row">(\d\d:\d\d)</th>', page)


@pytest.mark.parametrize(("unit", "step"), [(30, 30), (60, 60), (480, 480), (1440, 1440), (1, 15), (10, 20), (5, 15)])
def test_cells_are_the_instruments_unit_at_least_a_quarter_hour(unit, step):
    assert row_minutes(InstrumentFactory.build(booking_unit_minutes=unit)) == step


def test_a_30_minute_instrument_gets_30_minute_cells_that_book_its_unit(world, tomorrow_9):
    world.instrument.booking_unit_minutes, world.instrument.min_minutes = 30, 30
    world.instrument.save()
    page = week_page(None, world.instrument, tomorrow_9.date())
    labels = row_labels(page)
    assert len(labels) == 48 and labels[:3] == ["00:00", "00:30", "01:00"]
    half = cell(page, tomorrow_9 + dt.timedelta(minutes=30))
    assert "start=" + timezone.localtime(tomorrow_9).strftime("%Y-%m-%dT09:30") in half
    assert "end=" + timezone.localtime(tomorrow_9).strftime("%Y-%m-%dT10:00") in half


def test_seven_days_are_drawn(world, tomorrow_9):
    page = week_page(None, world.instrument, tomorrow_9.date())
    head = page.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert head.count('<th scope="col">') == 7
    assert page.count('<td class="') == 7 * 24


def test_hours_the_instrument_is_always_closed_are_left_out(world, tomorrow_9):
    for weekday in range(5):
        OperatingHours.objects.create(facility=world.facility, weekday=weekday, opens=dt.time(8), closes=dt.time(20))
    OperatingHours.objects.create(facility=world.facility, weekday=5, opens=dt.time(7), closes=dt.time(12))
    page = week_page(None, world.instrument, tomorrow_9.date())
    labels = row_labels(page)
    assert labels[0] == "07:00" and labels[-1] == "19:00" and len(labels) == 13
    assert "00:00–07:00, 20:00–24:00" in page and 'id="hidden-hours"' in page
    # Sunday (no hours at all) is a column of closed cells, not a missing column.
    assert page.split("<thead>", 1)[1].split("</thead>", 1)[0].count('<th scope="col">') == 7


def test_round_the_clock_instruments_hide_nothing(world, tomorrow_9):
    page = week_page(None, world.instrument, tomorrow_9.date())
    assert len(row_labels(page)) == 24 and 'id="hidden-hours"' not in page


def test_your_booking_in_hours_closed_since_is_still_shown(world, tomorrow_9):
    late = tomorrow_9.replace(hour=21)
    booking_request(requester=world.researcher, instrument=world.instrument, start=late, end=late + H)
    for weekday in range(7):
        OperatingHours.objects.create(facility=world.facility, weekday=weekday, opens=dt.time(8), closes=dt.time(20))
    page = week_page(world.researcher, world.instrument, tomorrow_9.date())
    assert "21:00" in row_labels(page) and "22:00" not in row_labels(page)
    assert "Your booking" in cell(page, late)
    assert "21:00" not in row_labels(week_page(world.outsider, world.instrument, tomorrow_9.date()))


def test_own_bookings_and_requests_are_told_apart_from_others(world, tomorrow_9):
    mine = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + 2 * H
    )
    booking_request(
        requester=world.outsider, instrument=world.instrument, start=tomorrow_9 + 3 * H, end=tomorrow_9 + 4 * H
    )
    world.instrument.requires_approval = True
    world.instrument.save()
    request = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9 + 5 * H, end=tomorrow_9 + 6 * H
    )
    assert mine.status == "approved" and request.status == "requested"
    page = week_page(world.researcher, world.instrument, tomorrow_9.date())
    first = cell(page, tomorrow_9)
    assert 'class="booking own mine"' in first and "Your booking" in first and "09:00–11:00" in first
    second = cell(page, tomorrow_9 + H)
    assert "own mine cont" in second and 'class="sr-only"' in second  # one block: the label once
    others = cell(page, tomorrow_9 + 3 * H)
    assert 'class="booking"' in others and "Booked" in others and "Your" not in others
    pending = cell(page, tomorrow_9 + 5 * H)
    assert "own pending" in pending and "Your request, awaiting approval" in pending
    assert "Your booking" in page.split('class="legend"', 1)[1].split("</div>", 1)[0]
    # Someone else sees all three as booked, nothing of whose they are.
    other_view = week_page(world.outsider, world.instrument, tomorrow_9.date())
    assert "own" not in cell(other_view, tomorrow_9) and "Booked" in cell(other_view, tomorrow_9)
    assert "own" not in cell(other_view, tomorrow_9 + 5 * H)
    anonymous = week_page(None, world.instrument, tomorrow_9.date())
    assert "Your booking" not in anonymous


def test_an_overnight_booking_reads_as_one_block_with_its_times(world, tomorrow_9):
    world.instrument.max_minutes = 600
    world.instrument.save()
    start = tomorrow_9.replace(hour=22)
    booking_request(requester=world.researcher, instrument=world.instrument, start=start, end=start + 8 * H)
    day = start.date()
    page = week_page(world.researcher, world.instrument, day)
    if (start + 8 * H).date() > timezone.localtime(start).date() and start.weekday() == 6:
        # Sunday night runs into next week's Monday: look at next week for the rest.
        rest = week_page(world.researcher, world.instrument, day + dt.timedelta(days=1))
    else:
        rest = page
    first = cell(page, start)
    assert "22:00–06:00 (next day)" in first and "Your booking" in first
    assert "cont" in cell(page, start + H)
    after_midnight = cell(rest, start + 2 * H)
    assert "continued, until 06:00" in after_midnight and "cont" not in after_midnight.split(">", 1)[0]
    assert "cont" in cell(rest, start + 3 * H)
    assert "free" in cell(rest, start + 8 * H)


def test_the_phone_shows_one_day_chosen_by_the_day_links(world, tomorrow_9):
    monday = tomorrow_9.date() - dt.timedelta(days=tomorrow_9.weekday())
    thursday = monday + dt.timedelta(days=3)
    page = week_page(None, world.instrument, monday, day=thursday.isoformat())
    assert 'data-show="3"' in page
    nav = page.split('id="day-nav"', 1)[1].split("</nav>", 1)[0]
    assert nav.count("<a ") == 7 and f"day={thursday.isoformat()}" in nav
    assert nav.split('aria-current="date"', 1)[0].count("<a ") == 4
    # A day outside the week falls back to today (this week) or the Monday.
    assert 'data-show="0"' in week_page(None, world.instrument, monday + dt.timedelta(days=14), day="2001-01-01")


def test_the_live_redraw_is_the_table_alone_with_the_viewers_own(world, tomorrow_9):
    booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    url = reverse("frontend:week", args=[world.instrument.pk])
    fragment = client_for(world.researcher).get(url, {"week": tomorrow_9.date().isoformat()}).content.decode()
    assert fragment.lstrip().startswith('<div class="table-wrap card" id="week-wrap">')
    assert "own mine" in cell(fragment, tomorrow_9) and "<html" not in fragment
    anonymous = client_for().get(url, {"week": tomorrow_9.date().isoformat()}).content.decode()
    assert "own" not in cell(anonymous, tomorrow_9)


@pytest.mark.parametrize("query", [{"week": "x"}, {"week": "9999-01-01", "day": "nope"}, {"day": "2026-02-30"}, {}])
def test_odd_input_to_the_week_is_never_a_500(world, query):
    url = reverse("frontend:week", args=[world.instrument.pk])
    assert client_for().get(url, query).status_code == 200
    assert client_for().get(reverse("frontend:instrument", args=[world.instrument.pk]), query).status_code == 200
    assert client_for().get(reverse("frontend:week", args=[999999])).status_code == 404


@pytest.mark.parametrize("n", [1, 12])
def test_the_week_costs_the_same_queries_however_many_bookings(world, n, django_assert_max_num_queries):
    base = timezone.localtime() + dt.timedelta(days=1)
    start = base.replace(hour=0, minute=0, second=0, microsecond=0)
    for i in range(n):
        requester = world.researcher if i % 2 else world.outsider
        booking_request(
            requester=requester, instrument=world.instrument, start=start + 2 * i * H, end=start + (2 * i + 1) * H
        )
    c = client_for(world.researcher)
    url = reverse("frontend:week", args=[world.instrument.pk])
    with django_assert_max_num_queries(10):
        assert c.get(url, {"week": start.date().isoformat()}).status_code == 200
