"""A change of calendar never strands a booking silently: a closure, new operating hours or a year's
public holidays over held bookings flags them, tells both sides, and the facility keeps, moves or cancels
each (a cancellation by the facility costs nothing)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import translation

from billing.models import Charge, ChargePolicy
from booking.live.consumers import MyBookingsConsumer
from booking.models import Booking, BookingEvent, CalendarFlag, NotificationLog
from booking.services import booking_cancel, booking_request
from booking.services.flags import flag_cancel, flag_held_bookings, flag_keep, flag_move
from common.errors import Conflict
from facilities.holidays import parse_schedule
from facilities.models import OperatingHours, RateCard
from facilities.models.catalog import UserClass
from facilities.services import closure_add, holiday_schedule_set

from .factories.facilities import FacilityFactory, InstrumentFactory, UserFactory, member
from .live_helpers import committed as live_committed
from .live_helpers import run
from .test_live_bookings import open_as

pytestmark = pytest.mark.usefixtures("tasks_in_process")
H = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def live_settings(settings, monkeypatch):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


def to(user) -> list:
    return [m for m in mail.outbox if m.to == [user.email]]


@pytest.fixture
def held(world, tomorrow_9, committed):
    """Three bookings two days ahead: an approved one, a requested one, and one of another time."""
    day = tomorrow_9 + dt.timedelta(days=1)
    approved = committed(
        booking_request, requester=world.researcher, instrument=world.instrument, start=day, end=day + 2 * H
    )
    world.instrument.requires_approval = True
    world.instrument.save()
    requested = committed(
        booking_request, requester=world.researcher, instrument=world.instrument, start=day + 3 * H, end=day + 4 * H
    )
    later = committed(
        booking_request,
        requester=world.researcher,
        instrument=world.instrument,
        start=day + dt.timedelta(days=2),
        end=day + dt.timedelta(days=2) + H,
    )
    assert (approved.status, requested.status) == ("approved", "requested")
    mail.outbox.clear()
    return day, approved, requested, later


def close_day(world, day, committed, **kw):
    return committed(
        closure_add, actor=world.manager, facility=world.facility, start=day, end=day + dt.timedelta(days=1), **kw
    )


def test_a_closure_over_held_bookings_flags_them_and_tells_both_sides(world, held, committed):
    day, approved, requested, later = held
    close_day(world, day, committed, reason="RF cavity repair")
    flags = list(CalendarFlag.objects.order_by("booking_id"))
    assert [(f.booking_id, f.status, f.cause) for f in flags] == [
        (approved.pk, "open", "closure_added"),
        (requested.pk, "open", "closure_added"),
    ]
    assert flags[0].reason == "of a closure (RF cavity repair)"
    # The bookings themselves are untouched: nothing is cancelled silently.
    assert set(Booking.objects.values_list("status", flat=True)) == {"approved", "requested"}
    requester_mail = to(world.researcher)
    assert len(requester_mail) == 2 and all("closed time" in m.subject for m in requester_mail)
    assert "RF cavity repair" in requester_mail[0].body and "costs you nothing" in requester_mail[0].body
    manager_mail = to(world.manager)
    assert len(manager_mail) == 2 and all("closed time" in m.subject for m in manager_mail)
    assert not to(world.outsider)
    # Once only: the same change again flags nothing new and mails nobody.
    assert (
        flag_held_bookings(
            instrument_ids=[world.instrument.pk], start=day, end=day + dt.timedelta(days=1), cause="closure_added"
        )
        == []
    )
    assert NotificationLog.objects.filter(kind__in=["flagged", "flagged_manager"]).count() == 4


def test_the_requester_hears_it_live_on_ws_me(world, held):
    day, approved, requested, later = held

    async def scenario():
        ws = await open_as(MyBookingsConsumer, "/ws/me/", world.researcher)
        await live_committed(closure_add)(
            actor=world.manager, facility=world.facility, start=day, end=day + 2 * H, reason="vacuum"
        )
        msg = await ws.receive_json_from(timeout=10)
        assert (msg["type"], msg["event"], msg["booking"]["id"]) == ("booking", "flagged", approved.pk)
        await ws.disconnect(timeout=10)

    run(scenario)


def test_new_operating_hours_flag_bookings_outside_them(client, world, held, django_capture_on_commit_callbacks):
    day, approved, requested, later = held
    client.force_login(world.admin)
    weekday = day.weekday()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/facilities/operatinghours/add/",
            {"facility": world.facility.pk, "instrument": "", "weekday": weekday, "opens": "12:00", "closes": "18:00"},
        )
    assert response.status_code == 302, response.content.decode()[:500]
    flagged = set(CalendarFlag.objects.values_list("booking_id", flat=True))
    # 09:00–11:00 and 12:00–13:00 on that weekday are before noon or inside: only the first is outside.
    assert approved.pk in flagged and requested.pk not in flagged
    assert CalendarFlag.objects.get(booking=approved).reason == "it is outside the operating hours"


def test_a_public_holiday_schedule_flags_bookings_on_its_new_days_off(world, committed):
    world.facility.follows_office_calendar = True
    world.facility.save()
    for weekday in range(5):
        OperatingHours.objects.create(facility=world.facility, weekday=weekday, opens=dt.time(8), closes=dt.time(18))
    start = dt.datetime(2027, 2, 11, 9, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # a Thursday
    now = dt.datetime(2026, 12, 4, 10, tzinfo=start.tzinfo)
    booking = committed(
        booking_request, requester=world.researcher, instrument=world.instrument, start=start, end=start + H, now=now
    )
    year, days = parse_schedule("2027-01-01,holiday,new_year\n2027-02-11,holiday,spring_festival\n")
    committed(holiday_schedule_set, actor=world.admin, year=year, days=days)
    flag = CalendarFlag.objects.get(booking=booking)
    assert flag.cause == "holidays_changed"
    assert flag.reason == "the facility is closed on 2027-02-11 (Spring Festival)"


def test_keep(world, held, committed):
    day, approved, requested, later = held
    close_day(world, day, committed)
    flag = CalendarFlag.objects.get(booking=approved)
    committed(flag_keep, actor=world.manager, flag_id=flag.pk, note="The beam is back by then.")
    flag.refresh_from_db()
    assert (flag.status, flag.resolved_by, flag.note) == ("kept", world.manager, "The beam is back by then.")
    approved.refresh_from_db()
    assert approved.status == "approved"
    event = BookingEvent.objects.filter(booking=approved).last()
    assert event.data["decision"] == "kept" and event.actor == world.manager
    [kept] = [m for m in to(world.researcher) if "stays" in m.subject]
    assert "The beam is back by then." in kept.body
    with pytest.raises(Conflict):
        flag_keep(actor=world.manager, flag_id=flag.pk)
    # Kept for this reason, it is not flagged again for the same one.
    assert (
        flag_held_bookings(
            instrument_ids=[world.instrument.pk], start=day, end=day + dt.timedelta(days=1), cause="closure_added"
        )
        == []
    )


def test_move(world, held, committed):
    day, approved, requested, later = held
    close_day(world, day, committed)
    flag = CalendarFlag.objects.get(booking=approved)
    # Not into closed time: the move is checked like any other.
    with pytest.raises(ValidationError) as refused:
        flag_move(actor=world.manager, flag_id=flag.pk, start=day + 5 * H, end=day + 6 * H)
    assert "of a closure" in refused.value.messages[0]
    assert CalendarFlag.objects.get(pk=flag.pk).status == "open"  # the refused move decided nothing
    new_start = day + dt.timedelta(days=1)
    committed(flag_move, actor=world.manager, flag_id=flag.pk, start=new_start, end=new_start + 2 * H)
    flag.refresh_from_db()
    approved.refresh_from_db()
    assert flag.status == "moved" and (approved.start, approved.status) == (new_start, "approved")
    assert any(str(new_start.date()) in m.body for m in to(world.researcher))  # the "changed" mail


def test_cancel_by_the_facility_costs_nothing_while_a_requesters_late_cancel_does(world, held, committed):
    day, approved, requested, later = held
    for klass in UserClass.values:
        RateCard.objects.create(instrument=world.instrument, user_class=klass, hourly_rate=D("300.00"))
    ChargePolicy.objects.create(instrument=world.instrument, late_cancel_hours=24 * 30, late_cancel_percent=D("100"))
    # Control: the same kind of booking cancelled late by its requester is charged.
    world.instrument.requires_approval = False
    world.instrument.save()
    other = committed(
        booking_request,
        requester=world.researcher,
        instrument=world.instrument,
        start=day + dt.timedelta(days=4),
        end=day + dt.timedelta(days=4) + 2 * H,
    )
    committed(booking_cancel, actor=world.researcher, booking_id=other.pk)
    assert Charge.objects.get(booking=other).gross > 0
    close_day(world, day, committed)
    flag = CalendarFlag.objects.get(booking=approved)
    committed(flag_cancel, actor=world.manager, flag_id=flag.pk, note="Shutdown extended.")
    approved.refresh_from_db()
    flag.refresh_from_db()
    assert approved.status == "cancelled" and flag.status == "cancelled"
    assert not Charge.objects.filter(booking=approved).exists()
    cancelled = [m for m in to(world.researcher) if m.subject.startswith("Cancelled")]
    assert cancelled and "by the facility" in cancelled[-1].body


def test_a_booking_released_otherwise_needs_no_decision(world, held, committed):
    day, approved, requested, later = held
    close_day(world, day, committed)
    committed(booking_cancel, actor=world.researcher, booking_id=requested.pk)
    flag = CalendarFlag.objects.get(booking=requested)
    assert flag.status == "settled"
    with pytest.raises(Conflict):
        flag_cancel(actor=world.manager, flag_id=flag.pk)


# --- who may act --------------------------------------------------------------------------------------


@pytest.fixture
def other_manager(world):
    other = FacilityFactory(code="OTHER", host=world.zju)
    person = UserFactory(username="other-mgr")
    member(person, world.zju, "facility_manager", facilities=[other])
    InstrumentFactory(facility=other)
    return person


@pytest.mark.parametrize("action", ["keep", "move", "cancel"])
def test_only_that_facilitys_managers_act_on_flags(world, held, committed, other_manager, action):
    day, approved, requested, later = held
    close_day(world, day, committed)
    flag = CalendarFlag.objects.get(booking=approved)
    url = f"/api/v1/calendar-flags/{flag.pk}/{action}/"
    new_start = day + dt.timedelta(days=1)
    body = {"start": new_start.isoformat(), "end": (new_start + 2 * H).isoformat()} if action == "move" else {}
    expected = {
        None: 401,  # not signed in
        "researcher": 403,  # the requester sees the flag but may not decide
        "finance": 403,  # USTC finance sees USTC's bookings, may not decide
        "outsider": 404,  # may not even see the booking
        "other_manager": 404,  # a manager of another facility
    }
    for who, status in expected.items():
        user = other_manager if who == "other_manager" else (getattr(world, who) if who else None)
        response = world.client(user).post(url, body, format="json")
        assert response.status_code in ((401, 403) if who is None else (status,)), (who, response.content)
    flag.refresh_from_db()
    assert flag.status == "open"
    response = world.client(world.manager).post(url, body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == {"keep": "kept", "move": "moved", "cancel": "cancelled"}[action]
    assert world.client(world.manager).post(url, body, format="json").status_code == 409


def test_the_flag_list_is_scoped(world, held, committed, other_manager, django_assert_max_num_queries):
    day, approved, requested, later = held
    close_day(world, day, committed)
    with django_assert_max_num_queries(10):
        mine = world.client(world.manager).get("/api/v1/calendar-flags/?status=open").json()
    assert mine["count"] == 2 and {r["booking"]["id"] for r in mine["results"]} == {approved.pk, requested.pk}
    assert mine["results"][0]["booking"]["purpose"] is not None
    assert world.client(world.researcher).get("/api/v1/calendar-flags/").json()["count"] == 2
    assert world.client(world.outsider).get("/api/v1/calendar-flags/").json()["count"] == 0
    assert world.client(other_manager).get("/api/v1/calendar-flags/").json()["count"] == 0
    assert world.client(world.manager).get("/api/v1/calendar-flags/?status=nope").status_code == 400
    assert world.client(None).get("/api/v1/calendar-flags/").status_code in (401, 403)


def test_the_endpoints_are_in_the_schema(world):
    schema = world.client(None).get("/api/v1/schema/?format=json").json()
    for path in ("/api/v1/calendar-flags/", "/api/v1/calendar-flags/{id}/move/", "/api/v1/holidays/{year}/"):
        assert path in schema["paths"], path


# --- the manager's console --------------------------------------------------------------------------


def test_the_console_lists_flags_and_acts_on_them(client, world, held, committed, other_manager):
    day, approved, requested, later = held
    close_day(world, day, committed, reason="magnet quench")
    flags = {f.booking_id: f for f in CalendarFlag.objects.all()}
    client.force_login(world.manager)
    page = client.get("/console/").content.decode()
    assert f'id="flag-{flags[approved.pk].pk}"' in page and "magnet quench" in page
    # Keep one, move the other to the next day.
    client.post(f"/console/flags/{flags[approved.pk].pk}/keep/", {"reason": "served anyway"})
    new = day + dt.timedelta(days=1)
    client.post(
        f"/console/flags/{flags[requested.pk].pk}/move/",
        {"start": new.strftime("%Y-%m-%dT%H:%M"), "end": (new + H).strftime("%Y-%m-%dT%H:%M")},
    )
    assert dict(CalendarFlag.objects.values_list("booking_id", "status")) == {
        approved.pk: "kept",
        requested.pk: "moved",
    }
    assert "flag-" not in client.get("/console/").content.decode()
    # A manager of another facility cannot act through the page either.
    close_day(world, day + dt.timedelta(days=2), committed)
    flag = CalendarFlag.objects.get(booking=later)
    client.force_login(other_manager)
    response = client.post(f"/console/flags/{flag.pk}/cancel/", {"reason": "x"})
    assert response.status_code == 404
    client.force_login(world.researcher)
    assert client.post(f"/console/flags/{flag.pk}/cancel/", {"reason": "x"}).status_code in (302, 403)
    flag.refresh_from_db()
    assert flag.status == "open"
    client.force_login(world.manager)
    client.post(f"/console/flags/{flag.pk}/cancel/", {"reason": "shutdown"})
    flag.refresh_from_db()
    assert flag.status == "cancelled"


def test_my_bookings_say_which_are_in_closed_time(client, world, held, committed):
    day, approved, requested, later = held
    client.force_login(world.researcher)
    assert "in-closed-time" not in client.get("/me/").content.decode()
    close_day(world, day, committed)
    page = client.get("/me/").content.decode()
    assert page.count('class="small notice in-closed-time"') == 2


def test_a_failed_flag_mail_is_retried_and_sent_once(world, held, settings):
    from booking.notifications.services import retry_failed_notifications
    from booking.tasks import send_calendar_flag_notification

    day, approved, requested, later = held
    flag = CalendarFlag.objects.create(booking=approved, cause="closure_added", reason="of a closure (x)")
    settings.EMAIL_BACKEND = "tests.test_notifications.BrokenBackend"
    result = send_calendar_flag_notification.delay(flag_id=flag.pk).get()
    assert result["failed"] == 2  # the requester and the one manager
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox.clear()
    assert retry_failed_notifications() == 2
    assert retry_failed_notifications() == 0
    assert sorted(m.to[0] for m in mail.outbox) == sorted([world.researcher.email, world.manager.email])
    assert set(NotificationLog.objects.filter(kind__startswith="flag").values_list("status", flat=True)) == {"sent"}


def test_mail_and_pages_speak_chinese(client, world, held, committed):
    world.researcher.language = "zh-hans"
    world.researcher.save()
    day, approved, requested, later = held
    close_day(world, day, committed, reason="检修")
    [first, *_] = to(world.researcher)
    assert first.subject.startswith("您的预约落在关闭时段")
    client.force_login(world.manager)
    try:
        page = client.get("/console/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    finally:
        translation.activate("en")  # the locale middleware leaves the request's language active
    assert "落在关闭时段的预约" in page and "保留" in page and "改期" in page


def test_bookings_still_open_cost_no_queries_each(world, tomorrow_9, django_assert_max_num_queries):
    from booking.models import Booking as B

    start = tomorrow_9 + dt.timedelta(days=3)
    for n in range(20):
        s = start + dt.timedelta(days=n)
        B.objects.create(
            instrument=world.instrument,
            requester=world.researcher,
            institution=world.ustc,
            start=s,
            end=s + H,
            hold_end=s + H,
            status="approved",
        )
    # A closure at night, between the bookings: none of them meets it.
    night = start + dt.timedelta(hours=14)
    from facilities.models import Closure

    Closure.objects.create(facility=world.facility, start=night, end=night + 2 * H)
    with django_assert_max_num_queries(5):
        flagged = flag_held_bookings(
            instrument_ids=[world.instrument.pk], start=start, end=start + dt.timedelta(days=30), cause="closure_added"
        )
    assert flagged == []
