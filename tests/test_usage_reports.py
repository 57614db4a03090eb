"""Figures from actual use: used hours (the usage app is the one source) against booked hours per
instrument and institution, walk-ups counted, idle time (booked but not used), in the sharing and
fairness reports, their API and the manager's console."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from booking.models import Booking
from reports.periods import parse_period
from reports.selectors import facility_report, fairness_report
from usage.models import Source, UsageSession
from usage.selectors import (
    idle_minutes_by_instrument,
    use_in_period,
    used_minutes_by_booking,
    used_minutes_by_instrument,
)

from .factories.reports import past_booking

SH = ZoneInfo("Asia/Shanghai")
M = dt.timedelta(minutes=1)


def at(day, hour, minute=0):
    return dt.datetime(2026, 10, day, hour, minute, tzinfo=SH)


def session(world, start, minutes, *, user=None, booking=None, source=Source.QR):
    end = start + minutes * M
    return UsageSession.objects.create(
        instrument=world.instrument, user=user, booking=booking, start=start, end=end, last_seen=end, source=source
    )


@pytest.fixture
def october(world):
    """USTC (outside the host SARI) books 2 h and uses 60 + 30 min with a break; ZJU walks up for 30 min;
    an interlock reports 20 min naming nobody; a 1 h no-show; a completed booking recorded only by its
    actual times (history) of 45 min out of 60; a booking that runs 15 min past the end of the month."""
    used = past_booking(
        instrument=world.instrument, requester=world.researcher, institution=world.ustc, start=at(5, 9), end=at(5, 11)
    )
    session(world, at(5, 9), 60, user=world.researcher, booking=used)
    session(world, at(5, 10, 15), 30, user=world.researcher, booking=used)
    session(world, at(6, 14), 30, user=world.outsider)  # walk-up, counted for ZJU
    session(world, at(7, 20), 20, source=Source.AGENT)  # nobody named: the host's
    past_booking(
        instrument=world.instrument,
        requester=world.researcher,
        institution=world.ustc,
        start=at(8, 9),
        end=at(8, 10),
        status=Booking.Status.NO_SHOW,
    )
    past_booking(
        instrument=world.instrument,
        requester=world.outsider,
        institution=world.zju,
        start=at(9, 9),
        end=at(9, 10),
        actual_start=at(9, 9, 15),
        actual_end=at(9, 10),
    )
    late = past_booking(
        instrument=world.instrument,
        requester=world.outsider,
        institution=world.zju,
        start=at(31, 23),
        end=at(31, 23) + 60 * M,
    )
    session(world, at(31, 23, 45), 30, user=world.outsider, booking=late)  # 15 min in October, 15 in November
    return used, late


def test_the_usage_selectors_are_one_source(world, october):
    used, late = october
    assert used_minutes_by_booking([used.pk, late.pk]) == {used.pk: 90, late.pk: 30}
    period = parse_period("2026-10")
    assert used_minutes_by_instrument(start=period.start, end=period.end) == {
        world.instrument.pk: 90 + 30 + 20 + 45 + 15
    }
    rows = use_in_period(instrument_ids=[world.instrument.pk], start=period.start, end=period.end)
    by_institution: dict = {}
    for r in rows:
        by_institution[r.institution_id] = by_institution.get(r.institution_id, 0) + r.minutes
    assert by_institution == {world.ustc.pk: 90, world.zju.pk: 30 + 45 + 15, None: 20}
    assert idle_minutes_by_instrument(instrument_ids=[world.instrument.pk], start=period.start, end=period.end) == {
        world.instrument.pk: 30 + 60 + 15 + 45  # the break; the no-show; 15 min late; 45 of the hour at 23:00
    }


def test_sharing_report_counts_used_against_booked_and_idle(world, october):
    report = facility_report(world.facility, parse_period("2026-10"))
    (item,) = report.instruments
    f = item.figures
    assert (f.booked_minutes, f.used_minutes, f.idle_minutes) == (120 + 60 + 60 + 60, 200, 150)
    assert (f.host_minutes, f.shared_minutes) == (20, 180)  # host + shared = used
    assert f.outside_institution_ids == {world.ustc.pk, world.zju.pk}
    assert f.outside_user_ids == {world.researcher.pk, world.outsider.pk}
    answer = world.client(world.manager).get("/api/v1/reports/sharing/", {"facility": "FAC", "period": "2026-10"})
    assert answer.status_code == 200, answer.content
    row = answer.json()["instruments"][0]
    assert (row["booked_hours"], row["used_hours"], row["idle_hours"]) == ("5.00", "3.33", "2.50")


def test_fairness_report_gives_used_hours_per_institution_with_walk_ups(world, october):
    report = fairness_report(world.facility, parse_period("2026-10"))
    ((_, _, entries),) = report.instruments
    got = {e.institution.code: (e.booked_minutes, e.used_minutes) for e in entries}
    assert got == {"USTC": (180, 90), "ZJU": (60 + 60, 30 + 45 + 15)}
    answer = world.client(world.manager).get("/api/v1/reports/fairness/", {"facility": "FAC", "period": "2026-10"})
    zju = next(e for e in answer.json()["instruments"][0]["institutions"] if e["institution"] == "ZJU")
    assert zju["used_hours"] == "1.50"


def test_console_shows_idle_hours(world, october):
    c = Client()
    c.force_login(world.manager)
    page = c.get(reverse("frontend:console_facility", args=["FAC"]), {"period": "2026-10"}).content.decode()
    assert f'data-idle="{world.instrument.pk}">2.50<' in page
