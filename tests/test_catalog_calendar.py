"""The catalog's own calendar: operating hours, public holidays and make-up workdays, closures."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env
from facilities.calendar import closed_spans, closure_reasons
from facilities.holidays import office_day
from facilities.models import Closure, OperatingHours
from facilities.services import closure_add, closure_remove

from .factories.facilities import InstrumentFactory

TZ = ZoneInfo("Asia/Shanghai")


def at(y, m, d, h=0, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=TZ)


@pytest.mark.django_db
def test_office_days_know_holidays_and_make_up_workdays():
    assert office_day(dt.date(2026, 10, 1)).kind == "holiday"  # National Day
    assert office_day(dt.date(2026, 10, 10)).kind == "makeup"  # Saturday worked in exchange
    assert office_day(dt.date(2026, 10, 12)).kind == "normal"
    # Not yet published: the statutory holiday applies, provisionally.
    assert office_day(dt.date(2030, 10, 1)) == office_day(dt.date(2030, 10, 1)).__class__(
        "holiday", "national_day", provisional=True
    )


@pytest.mark.django_db
def test_office_calendar_facility_closes_on_holidays_and_opens_on_make_up_days(world):
    world.facility.follows_office_calendar = True
    world.facility.save()
    for weekday in range(5):
        OperatingHours.objects.create(facility=world.facility, weekday=weekday, opens=dt.time(8), closes=dt.time(18))
    inst = world.instrument
    # Thursday 2026-10-01: a public holiday, closed all day.
    assert closed_spans(inst, at(2026, 10, 1), at(2026, 10, 2)) == [(at(2026, 10, 1), at(2026, 10, 2))]
    # Saturday 2026-10-10: a make-up workday, open with workday hours.
    assert closed_spans(inst, at(2026, 10, 10), at(2026, 10, 11)) == [
        (at(2026, 10, 10), at(2026, 10, 10, 8)),
        (at(2026, 10, 10, 18), at(2026, 10, 11)),
    ]
    # An ordinary Sunday has no hours at all.
    assert closed_spans(inst, at(2026, 10, 11), at(2026, 10, 12)) == [(at(2026, 10, 11), at(2026, 10, 12))]
    reasons = [why for _, why in closure_reasons(inst, at(2026, 10, 1, 9), at(2026, 10, 1, 10))]
    assert reasons == ["the facility is closed on 2026-10-01 (National Day)"]


@pytest.mark.django_db
def test_round_the_clock_facility_ignores_holidays(world):
    assert closed_spans(world.instrument, at(2026, 10, 1), at(2026, 10, 8)) == []


@pytest.mark.django_db
def test_instrument_hours_override_facility_hours(world):
    OperatingHours.objects.create(facility=world.facility, weekday=0, opens=dt.time(8), closes=dt.time(18))
    other = InstrumentFactory(facility=world.facility)
    OperatingHours.objects.create(
        facility=world.facility, instrument=other, weekday=0, opens=dt.time(0), closes=dt.time(12)
    )
    monday = at(2026, 11, 30)
    assert closed_spans(world.instrument, monday, monday + dt.timedelta(days=1))[0] == (monday, at(2026, 11, 30, 8))
    assert closed_spans(other, monday, monday + dt.timedelta(days=1)) == [(at(2026, 11, 30, 12), at(2026, 12, 1))]


@pytest.mark.django_db
def test_closures_bump_version_and_only_managers_add_them(world):
    from django.core.exceptions import PermissionDenied

    v0 = world.instrument.availability_version
    with pytest.raises(PermissionDenied):
        closure_add(actor=world.researcher, facility=world.facility, start=at(2026, 12, 1), end=at(2026, 12, 2))
    closure = closure_add(
        actor=world.manager, facility=world.facility, start=at(2026, 12, 1), end=at(2026, 12, 2), reason="RF cavity"
    )
    world.instrument.refresh_from_db()
    assert world.instrument.availability_version == v0 + 1
    assert closed_spans(world.instrument, at(2026, 11, 30), at(2026, 12, 3)) == [(at(2026, 12, 1), at(2026, 12, 2))]
    assert [why for _, why in closure_reasons(world.instrument, at(2026, 12, 1, 3), at(2026, 12, 1, 4))] == [
        "of a closure (RF cavity)"
    ]
    closure_remove(actor=world.manager, closure=closure)
    world.instrument.refresh_from_db()
    assert world.instrument.availability_version == v0 + 2
    assert not Closure.objects.exists()


def test_env_helpers_fail_loudly(monkeypatch):
    monkeypatch.setenv("X_BOOL", "maybe")
    with pytest.raises(ImproperlyConfigured, match="not a boolean"):
        env.env_bool("X_BOOL")
    monkeypatch.setenv("X_INT", "12a")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env.env_int("X_INT", 1)
    monkeypatch.setenv("X_URL", "mysql://x")
    with pytest.raises(ImproperlyConfigured, match="must start with"):
        env.env_url("X_URL", ("postgres", "sqlite"))
    monkeypatch.setenv("X_BOOL", "yes")
    assert env.env_bool("X_BOOL") is True
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env.env_list("X_LIST", []) == ["a", "b", "c"]


@pytest.mark.django_db
def test_facility_wide_closure_costs_the_same_queries_for_many_instruments(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for_closure(day):
        with CaptureQueriesContext(connection) as ctx:
            closure_add(
                actor=world.manager, facility=world.facility, start=at(2026, 12, day), end=at(2026, 12, day + 1)
            )
        return len(ctx.captured_queries)

    InstrumentFactory(facility=world.facility)  # one instrument alone skips the ordered lock
    few = queries_for_closure(1)
    for _ in range(9):
        InstrumentFactory(facility=world.facility)
    assert queries_for_closure(3) == few
    versions = set(world.facility.instruments.values_list("availability_version", flat=True))
    assert versions == {1, 2}  # the old instrument saw both closures, the new ones the second


@pytest.mark.django_db
def test_versions_rise_by_one_with_or_without_returning(world, monkeypatch):
    # SQLite before 3.35 has no UPDATE … RETURNING; the two-statement path must give the same answer.
    from django.db import connection

    from facilities.services import bump_versions

    other = InstrumentFactory(facility=world.facility)
    assert bump_versions(instrument_ids=[world.instrument.pk], reason="t") == {world.instrument.pk: 1}
    monkeypatch.setattr(type(connection.features), "can_return_columns_from_insert", False)
    assert bump_versions(instrument_ids=[other.pk, world.instrument.pk], reason="t") == {
        world.instrument.pk: 2,
        other.pk: 1,
    }
