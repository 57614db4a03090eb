"""An instrument's public feed covers a window (past FEED_INSTRUMENT_PAST_DAYS days to its booking
horizon, narrower on request), and a change costs rendering only what changed: every poll after a
change shows it."""

import datetime as dt

import icalendar
import pytest
from django.utils import timezone

from booking import feeds
from booking.models import Booking
from booking.services import booking_cancel, booking_request
from facilities.models import Closure

H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


def url(instrument) -> str:
    return f"/calendar/instruments/{instrument.pk}.ics"


def uids(body: bytes) -> set[str]:
    return {str(ev["uid"]) for ev in icalendar.Calendar.from_ical(body).walk("VEVENT")}


def midnight(days: int = 0) -> dt.datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0) + days * D


def booking_at(world, start: dt.datetime, status: str = "approved") -> Booking:
    return Booking.objects.create(
        instrument=world.instrument,
        requester=world.researcher,
        institution=world.ustc,
        status=status,
        start=start,
        end=start + H,
        hold_end=start + H,
    )


@pytest.fixture
def spread(world):
    """Bookings 40 and 10 days ago, tomorrow, in 20 days and beyond the horizon (imported, say)."""
    world.instrument.horizon_days = 30
    world.instrument.save()
    return {
        "old": booking_at(world, midnight(-40) + 9 * H, "completed"),
        "recent": booking_at(world, midnight(-10) + 9 * H, "completed"),
        "tomorrow": booking_at(world, midnight(1) + 9 * H),
        "later": booking_at(world, midnight(20) + 9 * H),
        "beyond": booking_at(world, midnight(40) + 9 * H),
    }


def busy(*bookings: Booking) -> set[str]:
    return {feeds.busy_uid(b.pk) for b in bookings}


def test_default_window_is_the_past_30_days_to_the_horizon(world, spread, client):
    body = client.get(url(world.instrument)).content
    assert uids(body) == busy(spread["recent"], spread["tomorrow"], spread["later"])


def test_window_follows_the_settings_and_the_horizon(world, spread, client, settings):
    settings.FEED_INSTRUMENT_PAST_DAYS = 60
    world.instrument.horizon_days = 10
    world.instrument.save()
    assert uids(client.get(url(world.instrument)).content) == busy(spread["old"], spread["recent"], spread["tomorrow"])


def test_narrower_window_on_request(world, spread, client):
    week = {"start": midnight(0).date().isoformat(), "end": midnight(7).date().isoformat()}
    assert uids(client.get(url(world.instrument), week).content) == busy(spread["tomorrow"])
    # End is exclusive: a window ending on tomorrow's day leaves tomorrow's booking out.
    today = {"start": midnight(0).date().isoformat(), "end": midnight(1).date().isoformat()}
    assert uids(client.get(url(world.instrument), today).content) == set()
    # Asking for more than the default is clipped to it: never older than 30 days, never past the horizon.
    wide = {"start": midnight(-400).date().isoformat(), "end": midnight(400).date().isoformat()}
    assert uids(client.get(url(world.instrument), wide).content) == busy(
        spread["recent"], spread["tomorrow"], spread["later"]
    )
    only_start = {"start": midnight(5).date().isoformat()}
    assert uids(client.get(url(world.instrument), only_start).content) == busy(spread["later"])


def test_a_booking_overlapping_the_window_edge_is_shown(world, client):
    across = booking_at(world, midnight(3) - H)  # 23:00 to midnight the day before the window opens... and
    across.end = across.hold_end = midnight(3) + H  # ...until 01:00 inside it
    across.save()
    window = {"start": midnight(3).date().isoformat(), "end": midnight(4).date().isoformat()}
    assert uids(client.get(url(world.instrument), window).content) == busy(across)


def test_closures_in_the_window_only(world, client):
    inside = Closure.objects.create(facility=world.facility, start=midnight(2), end=midnight(3), reason="Vacuum")
    outside = Closure.objects.create(facility=world.facility, start=midnight(10), end=midnight(11), reason="Later")
    window = {"start": midnight(0).date().isoformat(), "end": midnight(5).date().isoformat()}
    got = uids(client.get(url(world.instrument), window).content)
    assert feeds.closure_uid(inside.pk) in got and feeds.closure_uid(outside.pk) not in got


@pytest.mark.parametrize(
    "params",
    [
        {"start": "tomorrow"},
        {"start": "2026-13-01"},
        {"end": "2026-02-30"},
        {"start": "2026-12-01T00:00:00"},
        {"start": "20261201"},
        {"start": ""},
        {"start": "2026-12-05", "end": "2026-12-05"},
        {"start": "2026-12-05", "end": "2026-12-01"},
        {"end": "9" * 300},
    ],
)
def test_bad_window_is_a_400_in_plain_words(world, client, params):
    resp = client.get(url(world.instrument), params)
    assert resp.status_code == 400
    assert resp["Content-Type"].startswith("text/plain")
    text = resp.content.decode()
    assert ("YYYY-MM-DD" in text) or ("later day" in text)


def test_bad_window_message_in_chinese(world, client):
    resp = client.get(url(world.instrument), {"start": "nope"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert resp.status_code == 400 and "YYYY-MM-DD" in resp.content.decode() and "日期" in resp.content.decode()


def test_a_change_shows_in_the_next_poll_and_renders_only_that_booking(world, tomorrow_9, client, monkeypatch):
    made = [
        booking_request(
            requester=world.researcher,
            instrument=world.instrument,
            start=tomorrow_9 + 2 * k * H,
            end=tomorrow_9 + (2 * k + 1) * H,
        )
        for k in range(4)
    ]
    rendered: list[int] = []
    real = feeds.booking_event
    monkeypatch.setattr(feeds, "booking_event", lambda b, **k: rendered.append(b.pk) or real(b, **k))
    first = client.get(url(world.instrument))
    assert sorted(rendered) == sorted(b.pk for b in made)
    rendered.clear()
    booking_cancel(actor=world.researcher, booking_id=made[2].pk)
    second = client.get(url(world.instrument))
    assert rendered == [made[2].pk]  # only the changed booking is rendered again
    assert second["ETag"] != first["ETag"]
    events = {str(ev["uid"]): ev for ev in icalendar.Calendar.from_ical(second.content).walk("VEVENT")}
    assert events[feeds.busy_uid(made[2].pk)]["status"] == "CANCELLED"
    assert all(events[feeds.busy_uid(b.pk)]["status"] == "CONFIRMED" for b in made if b != made[2])
    # A client holding the old copy gets the new one, not a 304.
    assert client.get(url(world.instrument), HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200
    # A new booking shows too, and the other feeds (sharing the cache) see the change as well.
    rendered.clear()
    extra = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9 + 20 * H, end=tomorrow_9 + 21 * H
    )
    assert feeds.busy_uid(extra.pk) in uids(client.get(url(world.instrument)).content)
    assert rendered == [extra.pk]
    personal = client.get(f"/calendar/{world.researcher.calendar_token}.ics").content
    assert feeds.booking_uid(extra.pk) in uids(personal)


def test_a_change_made_without_the_services_still_shows(world, tomorrow_9, client):
    """The cached text is keyed by the booking's last change and status, not by its sequence alone."""
    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    client.get(url(world.instrument))
    Booking.objects.filter(pk=b.pk).update(status="cancelled", updated_at=timezone.now())
    ev = icalendar.Calendar.from_ical(client.get(url(world.instrument)).content).walk("VEVENT")[0]
    assert ev["status"] == "CANCELLED"


def test_assembled_feed_is_byte_for_byte_the_serialised_calendar(world, tomorrow_9):
    """One definition of a feed: splicing cached events gives exactly what icalendar writes for the whole."""
    for k in range(3):
        booking_request(
            requester=world.researcher,
            instrument=world.instrument,
            start=tomorrow_9 + 2 * k * H,
            end=tomorrow_9 + (2 * k + 1) * H,
        )
    Closure.objects.create(facility=world.facility, start=midnight(2), end=midnight(3), reason="Vacuum")
    now = timezone.now()
    body = feeds.instrument_feed(world.instrument, now=now).body
    cal = feeds.new_calendar(f"{world.facility.code} {world.instrument.code} — busy")
    for b in Booking.objects.filter(instrument=world.instrument).order_by("start", "id"):
        cal.add_component(feeds.booking_event(b, audience="public"))
    for c in Closure.objects.order_by("start", "id"):
        cal.add_component(feeds.closure_event(c, stamp=feeds._day_start(now)))
    assert body == cal.to_ical()
