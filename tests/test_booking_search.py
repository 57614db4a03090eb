"""Joint search: its windows are exactly where the booking service itself would accept the booking
on every instrument."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from booking.search import joint_windows
from booking.services import booking_request
from common.errors import Conflict
from facilities.models import Closure, OperatingHours

from .factories.booking import BookingFactory
from .factories.facilities import FacilityFactory, InstrumentFactory

H = dt.timedelta(hours=1)
URL = "/api/v1/availability/"


class _Rollback(Exception):
    pass


def service_accepts(world, instruments, start, end) -> bool:
    """Would booking_request accept [start, end) on every instrument at once? Nothing is kept."""
    try:
        with transaction.atomic():
            for inst in instruments:
                booking_request(requester=world.researcher, instrument=inst, start=start, end=end)
            raise _Rollback
    except _Rollback:
        return True
    except (ValidationError, Conflict):
        return False


@pytest.fixture
def scene(world):
    """A: hourly unit, 30-minute changeover, one booking and a closure tomorrow. B (another facility):
    half-hour unit, open 08:00–20:00 every day, one booking tomorrow afternoon."""
    day = (timezone.localtime() + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    a = world.instrument
    a.buffer_minutes, a.max_minutes = 30, 600
    a.save()
    b = InstrumentFactory(
        facility=FacilityFactory(code="OTHER"), booking_unit_minutes=30, min_minutes=60, max_minutes=600
    )
    for weekday in range(7):
        OperatingHours.objects.create(facility=b.facility, weekday=weekday, opens=dt.time(8), closes=dt.time(20))
    BookingFactory(instrument=a, requester=world.outsider, institution=world.zju, start=day + 10 * H, end=day + 11 * H)
    Closure.objects.create(
        facility=a.facility, instrument=a, start=day + 15 * H, end=day + 16 * H + dt.timedelta(minutes=20)
    )
    BookingFactory(
        instrument=b,
        requester=world.outsider,
        institution=world.zju,
        start=day + 13 * H + dt.timedelta(minutes=30),
        end=day + 14 * H + dt.timedelta(minutes=30),
    )
    return day, [a, b]


def test_windows_are_exactly_where_the_service_accepts(world, scene):
    day, instruments = scene
    duration = 120
    windows = joint_windows(
        instruments=instruments, duration_minutes=duration, start=day, end=day + 24 * H, now=timezone.now()
    )
    assert windows, "some joint time exists"
    for s, e in windows:
        assert (e - s) >= dt.timedelta(minutes=duration)
    # Every candidate start on the common 60-minute grid: inside a window iff the service accepts it.
    for minute in range(0, 24 * 60 - duration + 1, 60):
        start = day + dt.timedelta(minutes=minute)
        end = start + dt.timedelta(minutes=duration)
        in_window = any(s <= start and end <= e for s, e in windows)
        assert in_window == service_accepts(world, instruments, start, end), start


def test_expected_windows_in_words(world, scene):
    day, instruments = scene
    windows = joint_windows(
        instruments=instruments, duration_minutes=60, start=day, end=day + 24 * H, now=timezone.now()
    )
    at = lambda h, m=0: day + dt.timedelta(hours=h, minutes=m)  # noqa: E731
    # B is open 08–20 and busy 13:30–14:30; A is busy 10–11:30 (booking plus changeover) and closed
    # 15:00–16:20. A booking on A needs its 30-minute changeover free too, so before A's booking at
    # 10:00 the last hour that fits is 08:00–09:00 (09:00–10:00 would run its changeover into it).
    # Starts are on the hour (A's unit).
    assert windows == [(at(8), at(9)), (at(12), at(13)), (at(17), at(20))]


def test_api_answers_windows_in_shanghai_time(world, scene):
    day, instruments = scene
    r = world.client(None).get(
        URL,
        {
            "instruments": ",".join(str(i.pk) for i in instruments),
            "duration_minutes": "60",
            "start": day.isoformat(),
            "end": (day + 24 * H).isoformat(),
        },
    )
    assert r.status_code == 200
    assert r.json()["windows"][0] == {"start": (day + 8 * H).isoformat(), "end": (day + 9 * H).isoformat()}
    assert all(w["start"].endswith("+08:00") for w in r.json()["windows"])


def test_lead_time_and_horizon_bound_the_windows(world):
    inst = world.instrument
    inst.lead_time_minutes, inst.horizon_days = 48 * 60, 3
    inst.save()
    now = timezone.now()
    windows = joint_windows(instruments=[inst], duration_minutes=60, start=now, end=now + dt.timedelta(days=7), now=now)
    assert len(windows) == 1
    s, e = windows[0]
    assert now + dt.timedelta(hours=48) <= s < now + dt.timedelta(hours=49)
    assert e - H <= now + dt.timedelta(days=3)


def test_no_common_time_is_an_empty_list(world, scene):
    day, instruments = scene
    r = world.client(None).get(
        URL,
        {
            "instruments": ",".join(str(i.pk) for i in instruments),
            "duration_minutes": "600",
            "start": day.isoformat(),
            "end": (day + 24 * H).isoformat(),
        },
    )
    assert r.status_code == 200 and r.json() == {"windows": []}


def test_search_of_many_instruments_costs_few_queries(world, django_assert_max_num_queries):
    facilities = [FacilityFactory(code=f"F{i}") for i in range(5)]
    instruments = [InstrumentFactory(facility=facilities[i % 5]) for i in range(60)]
    ids = ",".join(str(i.pk) for i in instruments)
    with django_assert_max_num_queries(6):
        r = world.client(None).get(URL, {"instruments": ids, "duration_minutes": "60"})
    assert r.status_code == 200 and r.json()["windows"]
