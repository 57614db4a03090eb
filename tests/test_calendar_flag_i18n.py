"""A calendar flag keeps why the booked time is closed as data (a code and parameters), and every reader
gets the sentence in their own language: the mails to the requester and the managers, My bookings, the
manager's console and the API. Flags written before keep their English words, mapped back to data."""

import datetime as dt
import importlib
import re

import pytest
from django.core import mail
from django.utils import translation

from booking.models import CalendarFlag
from booking.services import booking_request
from facilities.holidays import parse_schedule
from facilities.models import Institution, OperatingHours
from facilities.services import holiday_schedule_set

from . import test_calendar_flags as base
from .test_calendar_flags import H, close_day, to

# The flag tests' fixtures: the live settings (autouse) and three held bookings two days ahead.
live_settings = base.live_settings
held = base.held

pytestmark = pytest.mark.usefixtures("tasks_in_process")

ENGLISH = re.compile(r"[A-Za-z]{2,}")


def latin_words(text: str, *allowed: str) -> list[str]:
    """English words left in `text` once the names (instrument, facility, people, institution), links and
    the closure's own words are taken out."""
    for name in sorted(allowed, key=len, reverse=True):
        text = text.replace(name, " ")
    text = re.sub(r"https?://\S+|\(UTC[+-]\d\d:\d\d\)", " ", text)  # links, and the time zone of "when"
    return ENGLISH.findall(text)


def names(world, *extra: str) -> tuple[str, ...]:
    people = [world.researcher, world.manager]
    return (
        world.instrument.name,
        world.instrument.code,
        world.facility.name,
        world.facility.code,
        *[n for pair in Institution.objects.values_list("name", "code") for n in pair],
        *[p.get_full_name() for p in people if p.get_full_name()],
        *[p.username for p in people],
        *extra,
    )


def speaks(user, language: str) -> None:
    user.language = language
    user.save()


@pytest.mark.parametrize("chinese", ["researcher", "manager"])
def test_each_recipient_reads_the_reason_in_their_own_language(world, held, committed, chinese):
    """Both cases: the requester reads Chinese and the manager English, and the other way round."""
    english = "manager" if chinese == "researcher" else "researcher"
    speaks(getattr(world, chinese), "zh-hans")
    speaks(getattr(world, english), "en")
    day, approved, requested, later = held
    close_day(world, day, committed, reason="RF cavity 检修")
    flag = CalendarFlag.objects.get(booking=approved)
    assert (flag.reason_code, flag.reason_params) == (
        "closure",
        {"closure_kind": "maintenance", "text": "RF cavity 检修"},
    )

    zh_mail = [m for m in to(getattr(world, chinese)) if f"#{approved.pk}" in m.body]
    en_mail = [m for m in to(getattr(world, english)) if f"#{approved.pk}" in m.body]
    assert len(zh_mail) == 1 and len(en_mail) == 1
    assert "设施临时关闭（RF cavity 检修）" in zh_mail[0].body
    reason_line = next(line for line in zh_mail[0].body.splitlines() if "检修" in line)
    assert latin_words(reason_line, *names(world, "RF cavity")) == [], reason_line
    assert "of a closure (RF cavity 检修)" in en_mail[0].body


def test_a_closure_without_its_own_words_is_named_by_its_kind(world, held, committed):
    speaks(world.researcher, "zh-hans")
    day, approved, requested, later = held
    close_day(world, day, committed, kind="shutdown")
    [first, *_] = to(world.researcher)
    assert "设施临时关闭（停机）" in first.body
    reason_line = next(line for line in first.body.splitlines() if "停机" in line)
    assert latin_words(reason_line, *names(world)) == [], reason_line


def test_hours_and_holidays_are_said_in_chinese(world, held, committed, client):
    speaks(world.researcher, "zh-hans")
    day, approved, requested, later = held
    OperatingHours.objects.create(facility=world.facility, weekday=day.weekday(), opens=dt.time(12), closes=dt.time(18))
    from booking.services.flags import flag_held_bookings

    committed(
        flag_held_bookings,
        instrument_ids=[world.instrument.pk],
        start=day,
        end=day + dt.timedelta(days=1),
        cause="hours_changed",
    )
    flag = CalendarFlag.objects.get(booking=approved)
    assert (flag.reason_code, flag.reason_params) == ("hours", {})
    assert flag.reason == "it is outside the operating hours"  # the English record stays
    with translation.override("zh-hans"):
        assert flag.reason_text == "该时段不在开放时间内"
    [first] = to(world.researcher)
    assert "原因：该时段不在开放时间内。" in first.body


def test_a_public_holiday_names_its_festival_in_chinese(world, committed):
    world.facility.follows_office_calendar = True
    world.facility.save()
    for weekday in range(5):
        OperatingHours.objects.create(facility=world.facility, weekday=weekday, opens=dt.time(8), closes=dt.time(18))
    speaks(world.researcher, "zh-hans")
    start = dt.datetime(2027, 2, 11, 9, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    now = dt.datetime(2026, 12, 4, 10, tzinfo=start.tzinfo)
    booking = committed(
        booking_request, requester=world.researcher, instrument=world.instrument, start=start, end=start + H, now=now
    )
    mail.outbox.clear()
    year, days = parse_schedule("2027-01-01,holiday,new_year\n2027-02-11,holiday,spring_festival\n")
    committed(holiday_schedule_set, actor=world.admin, year=year, days=days)
    flag = CalendarFlag.objects.get(booking=booking)
    assert flag.reason_code == "holiday"
    assert flag.reason_params == {"date": "2027-02-11", "festival": "spring_festival", "provisional": False}
    assert flag.reason == "the facility is closed on 2027-02-11 (Spring Festival)"
    [first] = to(world.researcher)
    assert "设施于 2027-02-11 闭馆（春节）" in first.body
    reason_line = next(line for line in first.body.splitlines() if "春节" in line)
    assert latin_words(reason_line, *names(world)) == [], reason_line


def test_pages_and_api_say_it_in_the_readers_language(client, world, held, committed):
    day, approved, requested, later = held
    close_day(world, day, committed, kind="shutdown")
    flag = CalendarFlag.objects.get(booking=approved)
    try:
        client.force_login(world.manager)
        console = client.get("/console/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        client.force_login(world.researcher)
        mine = client.get("/me/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        mine_en = client.get("/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        api = world.client(world.manager)
        zh = api.get("/api/v1/calendar-flags/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["results"]
        en = api.get("/api/v1/calendar-flags/", HTTP_ACCEPT_LANGUAGE="en").json()["results"]
    finally:
        translation.activate("en")  # the locale middleware leaves the request's language active
    row = console[console.index(f'id="flag-{flag.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "设施临时关闭（停机）" in row and "of a closure" not in row
    assert mine.count("原因：设施临时关闭（停机）") == 2 and "of a closure" not in mine
    assert mine_en.count("Now in closed time because of a closure (shutdown)") == 2
    zh_row = next(r for r in zh if r["id"] == flag.pk)
    en_row = next(r for r in en if r["id"] == flag.pk)
    assert zh_row["reason"] == "设施临时关闭（停机）" and en_row["reason"] == "of a closure (shutdown)"
    assert zh_row["reason_code"] == en_row["reason_code"] == "closure"
    assert zh_row["reason_params"] == {"closure_kind": "shutdown", "text": ""}


def test_a_flag_the_facility_kept_is_not_flagged_again_for_the_same_cause(world, held, committed):
    from booking.services.flags import flag_held_bookings, flag_keep

    day, approved, requested, later = held
    close_day(world, day, committed, reason="检修")
    flag = CalendarFlag.objects.get(booking=approved)
    committed(flag_keep, actor=world.manager, flag_id=flag.pk)
    again = committed(
        flag_held_bookings,
        instrument_ids=[world.instrument.pk],
        start=day,
        end=day + dt.timedelta(days=1),
        cause="closure_added",
    )
    assert approved.pk not in {f.booking_id for f in again}


# --- flags written before reasons were data ------------------------------------------------------------

migration = importlib.import_module("booking.migrations.0009_flag_reason_as_data")


@pytest.mark.parametrize(
    "reason, code, params",
    [
        ("it is outside the operating hours", "hours", {}),
        (
            "the facility is closed on 2026-10-01 (National Day)",
            "holiday",
            {"date": "2026-10-01", "festival": "national_day", "provisional": False},
        ),
        (
            "the facility is closed on 2027-10-01 (National Day, provisional)",
            "holiday",
            {"date": "2027-10-01", "festival": "national_day", "provisional": True},
        ),
        (
            "the facility is closed on 2026-05-01 (public holiday)",
            "holiday",
            {"date": "2026-05-01", "festival": None, "provisional": False},
        ),
        ("of a closure (RF cavity repair)", "closure", {"closure_kind": "", "text": "RF cavity repair"}),
        ("of a closure (maintenance)", "closure", {"closure_kind": "maintenance", "text": ""}),
        ("something an administrator typed", "text", {"text": "something an administrator typed"}),
        (
            "the facility is closed on 2026-05-01 (Moon Day)",
            "text",
            {"text": "the facility is closed on 2026-05-01 (Moon Day)"},
        ),
    ],
)
def test_old_english_reasons_map_back_to_data(reason, code, params):
    assert migration.as_data(reason) == (code, params)


def test_mapped_old_reasons_read_in_chinese_and_free_text_stays_as_written(world, held):
    day, approved, requested, later = held
    mapped = CalendarFlag(booking=approved, reason="it is outside the operating hours")
    mapped.reason_code, mapped.reason_params = migration.as_data(mapped.reason)
    free = CalendarFlag(booking=requested, reason="typed by hand")
    free.reason_code, free.reason_params = migration.as_data(free.reason)
    with translation.override("zh-hans"):
        assert mapped.reason_text == "该时段不在开放时间内"
        assert free.reason_text == "typed by hand"
    with translation.override("en"):
        assert mapped.reason_text == "it is outside the operating hours"
