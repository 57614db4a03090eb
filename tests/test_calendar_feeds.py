"""iCalendar feeds: personal, facility (managers) and public busy; conditional GET; token rotation."""

import datetime as dt

import icalendar
import pytest
import vobject
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.http import http_date

from booking.models import Booking
from booking.services import booking_approve, booking_cancel, booking_request
from facilities.models import Closure

H = dt.timedelta(hours=1)


def parse_both(body: bytes) -> tuple[icalendar.Calendar, object]:
    """Parse with icalendar and, independently, vobject; both must accept the feed."""
    cal = icalendar.Calendar.from_ical(body)
    vcal = vobject.readOne(body.decode("utf-8"))
    return cal, vcal


def events(cal: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(ev["uid"]): ev for ev in cal.walk("VEVENT")}


def vevents(vcal) -> dict[str, object]:
    return {ev.uid.value: ev for ev in getattr(vcal, "vevent_list", [])}


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def personal_url(user) -> str:
    return f"/calendar/{user.calendar_token}.ics"


@pytest.fixture
def bookings(world, tomorrow_9):
    a = booking_request(
        requester=world.researcher,
        instrument=world.instrument,
        start=tomorrow_9,
        end=tomorrow_9 + 2 * H,
        purpose="Beamtime for perovskite films",
    )
    b = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9 + 3 * H, end=tomorrow_9 + 4 * H
    )
    c = booking_request(
        requester=world.outsider,
        instrument=world.instrument,
        start=tomorrow_9 + 5 * H,
        end=tomorrow_9 + 6 * H,
        purpose="Secret ZJU project",
    )
    return a, b, c


def test_personal_feed_lists_own_bookings_parsed_by_two_parsers(world, bookings, client):
    a, b, c = bookings
    resp = client.get(personal_url(world.researcher))
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("text/calendar")
    cal, vcal = parse_both(resp.content)
    assert set(events(cal)) == {f"booking-{a.pk}@sanjiao", f"booking-{b.pk}@sanjiao"}
    assert set(vevents(vcal)) == set(events(cal))
    ev = events(cal)[f"booking-{a.pk}@sanjiao"]
    assert ev["status"] == "CONFIRMED"
    assert int(ev["sequence"]) == a.sequence
    assert ev.decoded("dtstart") == a.start and ev.decoded("dtend") == a.end
    # Local wall time with a VTIMEZONE, as calendar clients expect.
    assert ev["dtstart"].params["TZID"] == "Asia/Shanghai"
    assert [str(tz["tzid"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    v = vevents(vcal)[f"booking-{a.pk}@sanjiao"]
    assert v.dtstart.value == a.start and v.dtstart.value.utcoffset() == dt.timedelta(hours=8)
    assert "perovskite" in str(ev["description"])
    assert ev.get("dtstamp") is not None


def test_uids_and_bytes_are_stable_across_fetches(world, bookings, client):
    first = client.get(personal_url(world.researcher))
    second = client.get(personal_url(world.researcher))
    assert set(events(icalendar.Calendar.from_ical(first.content))) == set(
        events(icalendar.Calendar.from_ical(second.content))
    )
    assert first.content == second.content
    assert first["ETag"] == second["ETag"]


def test_cancelled_booking_stays_struck_out_with_higher_sequence(world, bookings, client):
    a = bookings[0]
    before = events(icalendar.Calendar.from_ical(client.get(personal_url(world.researcher)).content))[
        f"booking-{a.pk}@sanjiao"
    ]
    booking_cancel(actor=world.researcher, booking_id=a.pk, reason="sample not ready")
    cal, vcal = parse_both(client.get(personal_url(world.researcher)).content)
    after = events(cal)[f"booking-{a.pk}@sanjiao"]
    assert after["status"] == "CANCELLED"
    assert int(after["sequence"]) > int(before["sequence"])
    assert vevents(vcal)[f"booking-{a.pk}@sanjiao"].status.value == "CANCELLED"


def test_long_cancelled_booking_leaves_the_feed(world, bookings, client, settings):
    a = bookings[0]
    booking_cancel(actor=world.researcher, booking_id=a.pk)
    Booking.objects.filter(pk=a.pk).update(
        updated_at=timezone.now() - dt.timedelta(days=settings.FEED_KEEP_CANCELLED_DAYS + 2)
    )
    uids = events(icalendar.Calendar.from_ical(client.get(personal_url(world.researcher)).content))
    assert f"booking-{a.pk}@sanjiao" not in uids and f"booking-{bookings[1].pk}@sanjiao" in uids


def test_requested_booking_is_tentative_then_confirmed(world, tomorrow_9, client):
    world.instrument.requires_approval = True
    world.instrument.save()
    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    uid = f"booking-{b.pk}@sanjiao"
    assert (
        events(icalendar.Calendar.from_ical(client.get(personal_url(world.researcher)).content))[uid]["status"]
        == "TENTATIVE"
    )
    booking_approve(actor=world.manager, booking_id=b.pk)
    ev = events(icalendar.Calendar.from_ical(client.get(personal_url(world.researcher)).content))[uid]
    assert ev["status"] == "CONFIRMED" and int(ev["sequence"]) == 1


def test_conditional_get(world, bookings, client):
    url = personal_url(world.researcher)
    first = client.get(url)
    etag, last_modified = first["ETag"], first["Last-Modified"]
    not_modified = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified["ETag"] == etag
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200
    # A change makes the old validators stale.
    booking_cancel(actor=world.researcher, booking_id=bookings[1].pk)
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    older = http_date((timezone.now() - dt.timedelta(days=3)).timestamp())
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=older).status_code == 200


def test_unknown_or_rotated_token_is_404(world, bookings, client):
    assert client.get("/calendar/not-a-real-token.ics").status_code == 404
    old_url = personal_url(world.researcher)
    assert client.get(old_url).status_code == 200
    api = world.client(world.researcher)
    resp = api.post("/calendar/token/rotate/")
    assert resp.status_code == 200
    world.researcher.refresh_from_db()
    new_url = personal_url(world.researcher)
    assert resp.json()["calendar_url"].endswith(new_url)
    assert client.get(old_url).status_code == 404
    assert client.get(new_url).status_code == 200


def test_rotation_needs_a_logged_in_user(world, client):
    assert world.client(None).post("/calendar/token/rotate/").status_code in (401, 403)
    assert world.client(world.researcher).get("/calendar/token/rotate/").status_code == 405


def test_rotation_by_token_auth(world, client):
    from facilities.credentials import create_token

    key = create_token(user=world.outsider, name="test")[1]
    old = world.outsider.calendar_token
    resp = client.post("/calendar/token/rotate/", HTTP_AUTHORIZATION=f"Token {key}")
    assert resp.status_code == 200
    world.outsider.refresh_from_db()
    assert world.outsider.calendar_token != old


def test_public_instrument_feed_has_no_personal_data(world, bookings, client):
    a, b, c = bookings
    booking_cancel(actor=world.outsider, booking_id=c.pk)
    Closure.objects.create(
        facility=world.facility,
        start=a.start + dt.timedelta(days=2),
        end=a.start + dt.timedelta(days=3),
        reason="Annual maintenance",
    )
    resp = client.get(f"/calendar/instruments/{world.instrument.pk}.ics")
    assert resp.status_code == 200 and "public" in resp["Cache-Control"]
    cal, vcal = parse_both(resp.content)
    uids = events(cal)
    assert {f"busy-{a.pk}@sanjiao", f"busy-{b.pk}@sanjiao"} <= set(uids)
    assert uids[f"busy-{c.pk}@sanjiao"]["status"] == "CANCELLED"
    assert not any(uid.startswith("booking-") for uid in uids)
    assert any("Annual maintenance" in str(ev["summary"]) for ev in uids.values())
    text = resp.content.decode()
    for secret in ("perovskite", "Secret ZJU", "res", "out@", "USTC", "ZJU", "Zhejiang", world.researcher.email):
        assert secret not in text.replace("ZJU-", ""), secret
    for ev in uids.values():
        assert "attendee" not in ev and "organizer" not in ev and "description" not in ev
    assert set(vevents(vcal)) == set(uids)


def test_public_feed_of_unknown_or_inactive_instrument_is_404(world, client):
    assert client.get("/calendar/instruments/999999.ics").status_code == 404
    world.instrument.active = False
    world.instrument.save()
    assert client.get(f"/calendar/instruments/{world.instrument.pk}.ics").status_code == 404


def test_facility_feed_for_its_managers_only(world, bookings, client):
    url = f"/calendar/facilities/{world.facility.code}.ics"
    resp = client.get(url, {"token": world.manager.calendar_token})
    assert resp.status_code == 200 and "private" in resp["Cache-Control"]
    cal, vcal = parse_both(resp.content)
    uids = events(cal)
    assert set(uids) == {f"booking-{b.pk}@sanjiao" for b in bookings}
    assert "out" in str(uids[f"booking-{bookings[2].pk}@sanjiao"]["summary"])
    assert client.get(url, {"token": world.researcher.calendar_token}).status_code == 403
    assert client.get(url, {"token": "nope"}).status_code == 404
    assert client.get(url).status_code == 404
    assert client.get("/calendar/facilities/NOPE.ics", {"token": world.manager.calendar_token}).status_code == 404
    etag = resp["ETag"]
    assert client.get(url, {"token": world.manager.calendar_token}, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_feed_queries_do_not_grow_with_bookings(world, tomorrow_9, client):
    booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    with CaptureQueriesContext(connection) as few:
        assert client.get(personal_url(world.researcher)).status_code == 200
    for day in range(1, 8):
        start = tomorrow_9 + dt.timedelta(days=day)
        booking_request(requester=world.researcher, instrument=world.instrument, start=start, end=start + H)
    with CaptureQueriesContext(connection) as many:
        body = client.get(personal_url(world.researcher)).content
    assert len(events(icalendar.Calendar.from_ical(body))) == 8
    # The token's owner, the fingerprint, the bookings' versions, and only the new ones read in full.
    assert len(many.captured_queries) == len(few.captured_queries) <= 4


def test_errors_are_plain_words(world, client):
    resp = client.get("/calendar/unknown.ics")
    assert resp.status_code == 404 and b"No calendar has this address" in resp.content
    resp = client.get(f"/calendar/facilities/{world.facility.code}.ics", {"token": world.researcher.calendar_token})
    assert resp.status_code == 403 and world.facility.code.encode() in resp.content
    assert client.post(personal_url(world.researcher)).status_code == 405


def test_built_feed_is_reused_until_something_changes(world, bookings, client, monkeypatch):
    from booking import feeds
    from facilities.services import bump_versions

    built = []
    real = feeds.booking_event
    monkeypatch.setattr(feeds, "booking_event", lambda *a, **k: built.append(1) or real(*a, **k))
    url = f"/calendar/instruments/{world.instrument.pk}.ics"
    first = client.get(url).content
    assert len(built) == 3
    assert client.get(url).content == first and len(built) == 3  # served from the cache
    # A closure changes the instrument's availability version: the feed is rebuilt with it.
    closure = Closure.objects.create(
        facility=world.facility,
        start=bookings[0].start + dt.timedelta(days=5),
        end=bookings[0].start + dt.timedelta(days=6),
        reason="Vacuum work",
    )
    bump_versions(instrument_ids=[world.instrument.pk], reason="closure_added")
    again = client.get(url).content
    # ...reusing every booking's rendered event: none of them changed.
    assert len(built) == 3 and b"Vacuum work" in again and f"closure-{closure.pk}@sanjiao".encode() in again
    # A booking change is seen at once too, in the personal and the facility feed alike.
    client.get(personal_url(world.researcher))
    booking_cancel(actor=world.researcher, booking_id=bookings[1].pk)
    ev = events(icalendar.Calendar.from_ical(client.get(personal_url(world.researcher)).content))[
        f"booking-{bookings[1].pk}@sanjiao"
    ]
    assert ev["status"] == "CANCELLED"


def test_feeds_are_in_the_openapi_schema_and_answer_any_accept_header(world, client):
    schema = client.get("/api/v1/schema/?format=json").json()
    for path in ("/calendar/{token}.ics", "/calendar/instruments/{id}.ics", "/calendar/facilities/{code}.ics"):
        responses = schema["paths"][path]["get"]["responses"]
        assert "text/calendar" in responses["200"]["content"] and "text/plain" in responses["404"]["content"]
    url = f"/calendar/instruments/{world.instrument.pk}.ics"
    for accept in ("application/json", "text/html", "*/*", "text/calendar", "nonsense"):
        r = client.get(url, HTTP_ACCEPT=accept)
        assert r.status_code == 200 and r["Content-Type"].startswith("text/calendar"), accept
    refused = client.post(url)
    assert refused.status_code == 405 and refused["Content-Type"].startswith("text/plain")
    assert "POST" in refused.content.decode() and "GET" in refused["Allow"]
    missing = client.get("/calendar/instruments/999999.ics", HTTP_ACCEPT="application/json")
    assert missing.status_code == 404 and missing.content == b"No such instrument."
