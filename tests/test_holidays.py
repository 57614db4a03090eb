"""China's public-holiday calendar kept as data: schedules per year, provisional statutory holidays for a
year without one, imports by platform administrators, and the one function every rule asks."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.services import booking_request
from facilities.calendar import closed_spans
from facilities.holidays import office_day, office_days, package_schedules, parse_schedule, qingming, statutory_days
from facilities.models import Festival, HolidaySchedule, OperatingHours
from facilities.services import holiday_schedule_remove, holiday_schedule_set, holidays_load_package

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 4, 10, tzinfo=TZ)

SCHEDULE_2027 = """\
# 2027 — illustrative schedule in the State Council's form
date,kind,festival
2027-01-01,holiday,new_year
2027-01-02,holiday,new_year
2027-01-03,holiday,new_year
2027-02-05,holiday,spring_festival
2027-02-06,holiday,spring_festival
2027-02-07,holiday,spring_festival
2027-02-08,holiday,spring_festival
2027-02-09,holiday,spring_festival
2027-02-10,holiday,spring_festival
2027-02-11,holiday,spring_festival
2027-02-14,workday,spring_festival
2027-02-20,workday,spring_festival
2027-04-05 holiday qingming
2027-05-01,holiday,labour_day
2027-05-02,holiday,labour_day
2027-05-03,holiday,labour_day
2027-06-09,holiday,dragon_boat
2027-09-15,holiday,mid_autumn
2027-10-01,holiday,national_day
2027-10-02,holiday,national_day
2027-10-03,holiday,national_day
2027-10-04,holiday,national_day
2027-10-05,holiday,national_day
2027-10-06,holiday,national_day
2027-10-07,holiday,national_day
2027-09-26,workday,national_day
2027-10-09,workday,national_day
"""


def at(y, m, d, h=0):
    return dt.datetime(y, m, d, h, tzinfo=TZ)


@pytest.fixture
def office(world):
    """The world's instrument at an office-calendar facility open 08:00–18:00 on weekdays only."""
    world.facility.follows_office_calendar = True
    world.facility.save()
    for weekday in range(5):
        OperatingHours.objects.create(facility=world.facility, weekday=weekday, opens=dt.time(8), closes=dt.time(18))
    return world.instrument


def import_2027(admin):
    year, days = parse_schedule(SCHEDULE_2027)
    return holiday_schedule_set(actor=admin, year=year, days=days, notice="illustrative")


# --- the provisional statutory holidays ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_year_without_a_schedule_closes_its_statutory_holidays_provisionally(world, office):
    assert not HolidaySchedule.objects.filter(year=2027).exists()
    day = office_day(dt.date(2027, 1, 1))
    assert (day.kind, day.festival, day.provisional) == ("holiday", Festival.NEW_YEAR, True)
    assert closed_spans(office, at(2027, 1, 1), at(2027, 1, 2)) == [(at(2027, 1, 1), at(2027, 1, 2))]
    with pytest.raises(ValidationError) as refused:
        booking_request(
            requester=world.researcher, instrument=office, start=at(2027, 1, 1, 9), end=at(2027, 1, 1, 10), now=NOW
        )
    assert "2027-01-01 (New Year's Day, provisional)" in refused.value.messages[0]
    # A working Monday of that year is open as usual.
    booking_request(
        requester=world.researcher, instrument=office, start=at(2027, 1, 4, 9), end=at(2027, 1, 4, 10), now=NOW
    )


@pytest.mark.django_db
def test_round_the_clock_facilities_stay_open_on_provisional_holidays(world):
    assert closed_spans(world.instrument, at(2027, 1, 1), at(2027, 1, 2)) == []


@pytest.mark.django_db
def test_the_api_says_provisional(world, office):
    body = (
        world.client(None)
        .get(
            f"/api/v1/instruments/{office.pk}/availability/?start=2027-01-01T00:00:00%2B08:00&end=2027-01-04T00:00:00%2B08:00"
        )
        .json()
    )
    assert body["holidays"] == [{"date": "2027-01-01", "kind": "holiday", "festival": "new_year", "provisional": True}]
    assert body["busy"][0] == {
        "start": "2027-01-01T00:00:00+08:00",
        "end": "2027-01-04T00:00:00+08:00",
        "kind": "closure",
    }
    year = world.client(None).get("/api/v1/holidays/2027/").json()
    assert year["provisional"] is True and year["source"] is None
    assert [d["date"] for d in year["days"]][:5] == [
        "2027-01-01",
        "2027-02-05",
        "2027-02-06",
        "2027-02-07",
        "2027-02-08",
    ]
    known = world.client(None).get("/api/v1/holidays/2026/").json()
    assert known["provisional"] is False and known["source"] == "package"
    assert {"date": "2026-10-10", "kind": "makeup", "festival": "national_day", "name": "National Day"} in known["days"]
    assert world.client(None).get("/api/v1/holidays/1999/").status_code == 404


@pytest.mark.django_db
def test_the_calendar_and_the_booking_form_say_provisional(client, world, office):
    client.force_login(world.researcher)
    page = client.get(f"/instruments/{office.pk}/?week=2026-12-28&start=2027-01-01T09:00&end=2027-01-01T10:00")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="provisional-holidays"' in html  # the week calendar's note
    assert "New Year&#x27;s Day (provisional)" in html  # its column head
    assert 'id="form-provisional"' in html  # the booking form's note
    refused = client.post(
        f"/instruments/{office.pk}/book/",
        {
            "start": "2027-01-01T09:00",
            "end": "2027-01-01T10:00",
            "purpose": "x",
            f"split_{world.researcher_account.pk}": "100",
        },
    )
    assert "2027-01-01 (New Year&#x27;s Day, provisional)" in refused.content.decode()
    # A week of a published year says nothing of the kind.
    html = client.get(f"/instruments/{office.pk}/?week=2026-09-28").content.decode()
    assert "provisional" not in html and "National Day" in html


# --- an imported schedule ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_imported_schedule_replaces_the_provisional_days(world, office):
    v0 = type(office).objects.get(pk=office.pk).availability_version
    import_2027(world.admin)
    assert type(office).objects.get(pk=office.pk).availability_version == v0 + 1
    assert office_day(dt.date(2027, 1, 1)).provisional is False
    # The Sunday worked for the Spring Festival opens with weekday hours on a weekday-only instrument…
    assert dt.date(2027, 2, 14).weekday() == 6
    assert office_day(dt.date(2027, 2, 14)).kind == "makeup"
    assert closed_spans(office, at(2027, 2, 14), at(2027, 2, 15)) == [
        (at(2027, 2, 14), at(2027, 2, 14, 8)),
        (at(2027, 2, 14, 18), at(2027, 2, 15)),
    ]
    booking = booking_request(
        requester=world.researcher, instrument=office, start=at(2027, 2, 14, 9), end=at(2027, 2, 14, 11), now=NOW
    )
    assert booking.status == "approved"
    # …and a day the statute alone would close, but the schedule does not, is open: Qingming falls on
    # 5 April in 2027 by both; 20 April is no holiday at all.
    assert office_day(dt.date(2027, 4, 20)).kind == "normal"
    # Gone from the year: a statutory day the imported schedule does not list.
    removed = set(statutory_days(2027)) - {d for d, _k, _f in parse_schedule(SCHEDULE_2027)[1]}
    for day in removed:
        assert office_day(day).kind == "normal"
    assert world.client(None).get("/api/v1/holidays/2027/").json()["source"] == "official"
    # Removing the schedule makes the year provisional again.
    assert holiday_schedule_remove(actor=world.admin, year=2027)
    assert office_day(dt.date(2027, 1, 1)).provisional is True
    assert office_day(dt.date(2027, 2, 14)).kind == "normal"


@pytest.mark.django_db
def test_only_platform_administrators_change_the_calendar(world):
    year, days = parse_schedule(SCHEDULE_2027)
    for person in (world.manager, world.researcher, world.finance, world.outsider):
        with pytest.raises(PermissionDenied):
            holiday_schedule_set(actor=person, year=year, days=days)
        with pytest.raises(PermissionDenied):
            holiday_schedule_remove(actor=person, year=2026)
    assert not HolidaySchedule.objects.filter(year=2027).exists()


@pytest.mark.parametrize(
    "text, words",
    [
        ("2027-01-01,holiday,new_year\n2028-01-01,holiday,new_year", "one year"),
        ("2027-01-01,holiday,xmas", "unknown festival"),
        ("2027-02-30,holiday,new_year", "is not a date"),
        ("2027-01-01,holiday,new_year\n2027-01-01,holiday,new_year", "listed twice"),
        ("2027-01-04,workday,new_year\n2027-01-01,holiday,new_year", "is a weekday"),
        ("2027-01-02,workday,new_year", "at least one public holiday"),
        ("# nothing\n", "lists no days"),
        ("1 January, holiday", "Line 1"),
        ("1999-01-01,holiday,new_year", "between 2000 and 2099"),
    ],
)
def test_schedule_files_are_read_strictly(text, words):
    # The messages are translated: read them in English, whatever an earlier test left active.
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        parse_schedule(text)
    assert words in refused.value.messages[0]


@pytest.mark.django_db
def test_the_import_command(world, tmp_path, office):
    path = tmp_path / "2027.csv"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    out = io.StringIO()
    call_command("import_holidays", str(path), notice="国办发明电〔2026〕7号", stdout=out)
    assert "2027: 23 holidays and 4 make-up workdays in force." in out.getvalue()
    assert HolidaySchedule.objects.get(year=2027).notice == "国办发明电〔2026〕7号"
    bad = tmp_path / "bad.csv"
    bad.write_text("2027-01-01,holiday,xmas\n", encoding="utf-8")
    with pytest.raises(CommandError, match="unknown festival"):
        call_command("import_holidays", str(bad))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_holidays", str(tmp_path / "missing.csv"))
    call_command("import_holidays", remove=2027, stdout=io.StringIO())
    assert not HolidaySchedule.objects.filter(year=2027).exists()


@pytest.mark.django_db
def test_loading_the_package_adds_only_missing_years_and_never_replaces_an_entered_one(world):
    # The migration loaded every year the package knows.
    assert set(HolidaySchedule.objects.values_list("year", flat=True)) >= set(package_schedules())
    assert holidays_load_package() == []
    HolidaySchedule.objects.filter(year=2025).delete()
    import_2027(world.admin)
    assert holidays_load_package() == [2025]
    assert HolidaySchedule.objects.get(year=2027).source == "official"
    assert holidays_load_package(replace_package_years=True) == sorted(package_schedules())
    assert HolidaySchedule.objects.get(year=2027).source == "official"


@pytest.mark.django_db
def test_the_admin_import_page(client, world):
    url = "/admin/facilities/holidayschedule/import/"
    client.force_login(world.manager)
    assert client.get(url).status_code in (302, 403)  # not staff: the admin's sign-in, never the page
    client.force_login(world.admin)
    assert client.get(url).status_code == 200
    refused = client.post(url, {"text": "2027-01-01,holiday,xmas"})
    assert refused.status_code == 200 and "unknown festival" in refused.content.decode()
    done = client.post(url, {"text": SCHEDULE_2027, "notice": "illustrative"})
    assert done.status_code == 302
    assert HolidaySchedule.objects.get(year=2027).entered_by == world.admin
    assert client.get("/admin/facilities/holidayschedule/").status_code == 200
    schedule = HolidaySchedule.objects.get(year=2027)
    page = client.get(f"/admin/facilities/holidayschedule/{schedule.pk}/change/")
    assert page.status_code == 200 and "2027-02-14" in page.content.decode()
    # Deleting the year in the admin goes through the service: provisional again.
    gone = client.post(f"/admin/facilities/holidayschedule/{schedule.pk}/delete/", {"post": "yes"})
    print("DEBUG", gone.status_code, gone.content.decode()[:3000])
    assert not HolidaySchedule.objects.filter(year=2027).exists()
    assert office_day(dt.date(2027, 1, 1)).provisional is True


@pytest.mark.django_db
def test_office_days_reads_the_database_in_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        days = office_days(dt.date(2026, 12, 1), dt.date(2027, 2, 28))
    assert dt.date(2026, 12, 31) not in days  # an ordinary Thursday
    assert days[dt.date(2027, 1, 1)].provisional is True


# --- lunar dates computed, checked against the published years --------------------------------------

KNOWN = sorted(y for y in package_schedules() if y >= 2008)  # Qingming, Dragon Boat and Mid-Autumn since 2008


@settings(max_examples=40, deadline=None)
@given(year=st.sampled_from(KNOWN))
def test_computed_lunar_dates_are_official_holidays_in_every_published_year(year):
    """Every computed date is a day off in the State Council's schedule of that year (as the package
    records it), and the lunar new year and Qingming carry their own names there."""
    days = statutory_days(year)
    eve = min(d for d, f in days.items() if f == Festival.SPRING_FESTIVAL)
    for day, festival in days.items():
        # New Year's Eve and 2 May became statutory in 2025; before, they were bridged only in some years.
        if year < 2025 and (day == eve or day == dt.date(year, 5, 2)):
            continue
        assert chinese_calendar.is_holiday(day), (year, day, festival)
    assert chinese_calendar.get_holiday_detail(qingming(year)) == (True, "Tomb-sweeping Day")
    lunar_new_year = eve + dt.timedelta(days=1)
    assert chinese_calendar.get_holiday_detail(lunar_new_year) == (True, "Spring Festival")


@settings(max_examples=30, deadline=None)
@given(year=st.integers(min_value=2000, max_value=2099))
def test_statutory_days_are_thirteen_in_their_year(year):
    days = statutory_days(year)
    assert all(d.year == year for d in days)
    # 13 days, less one when Mid-Autumn falls on 1–3 October, less those of New Year's Eve that fall in
    # the year before (never: the lunar new year is 21 January at the earliest).
    assert len(days) in (12, 13)
    assert sum(1 for f in days.values() if f == Festival.SPRING_FESTIVAL) == 4


def test_no_second_path_to_the_holiday_packages():
    """Only the loader (and the data migration) read chinesecalendar; only the statutory-day computation
    reads lunar-python. Every rule asks `office_days`, which reads the database."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    readers = {}
    for app in ("common", "facilities", "booking", "billing", "reports", "frontend", "config"):
        for path in (root / app).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for package in ("chinese_calendar", "lunar_python"):
                if f"import {package}" in text or f"from {package}" in text:
                    where = str(path.relative_to(root))
                    # Migrations may be renumbered when branches are combined.
                    readers.setdefault(package, set()).add("migration" if "/migrations/" in where else where)
    assert readers == {
        "chinese_calendar": {"facilities/holidays.py", "migration"},
        "lunar_python": {"facilities/holidays.py"},
    }
