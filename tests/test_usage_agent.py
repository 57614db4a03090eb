"""The signed agent API: forged, stale, replayed, duplicated, late and out-of-order events, and a lost
`stop` closed by the heartbeat rule."""

import datetime as dt
import json
import time
import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from usage import keys
from usage.models import AgentEvent, UsageSession, UsageSettings
from usage.services import agent_key_rotate, close_silent_sessions

from .factories.booking import BookingFactory

M = dt.timedelta(minutes=1)


def url(instrument) -> str:
    return f"/api/v1/instruments/{instrument.pk}/usage/agent-events/"


def signed_post(instrument, key: str, events, *, timestamp: int | None = None, nonce: str | None = None, body=None):
    body = body if body is not None else json.dumps({"nonce": nonce or uuid.uuid4().hex, "events": events}).encode()
    ts = str(timestamp if timestamp is not None else int(time.time()))
    return APIClient().post(
        url(instrument),
        data=body,
        content_type="application/json",
        HTTP_X_SANJIAO_TIMESTAMP=ts,
        HTTP_X_SANJIAO_SIGNATURE=keys.signature(key, ts, body),
    )


def ev(kind: str, at: dt.datetime, event_id: str | None = None, **extra) -> dict:
    return {"id": event_id or uuid.uuid4().hex, "type": kind, "at": at.isoformat(), **extra}


@pytest.fixture
def key(world):
    return agent_key_rotate(actor=world.manager, instrument=world.instrument)


def sessions(world):
    return list(UsageSession.objects.filter(instrument=world.instrument).order_by("start"))


def test_the_key_is_stored_encrypted_and_shown_once(world, key):
    row = UsageSettings.objects.get(instrument=world.instrument)
    assert key not in row.agent_key_encrypted and keys.decrypt(row.agent_key_encrypted) == key
    answer = world.client(world.manager).post(f"/api/v1/instruments/{world.instrument.pk}/usage/agent-key/")
    assert answer.status_code == 201 and answer["Cache-Control"] == "no-store"
    new = answer.json()["key"]
    assert new != key
    now = timezone.now()
    assert signed_post(world.instrument, key, [ev("start", now)]).status_code == 403  # the old key is gone
    assert signed_post(world.instrument, new, [ev("start", now)]).status_code == 200


@pytest.mark.parametrize("who", ["researcher", "outsider", "finance", None])
def test_only_managers_issue_keys(world, who):
    answer = world.client(getattr(world, who) if who else None).post(
        f"/api/v1/instruments/{world.instrument.pk}/usage/agent-key/"
    )
    assert answer.status_code in ((401, 403) if who is None else (403,))
    assert not UsageSettings.objects.filter(instrument=world.instrument).exclude(agent_key_encrypted="").exists()


def test_forged_and_malformed_signatures_are_refused(world, key):
    now = timezone.now()
    assert signed_post(world.instrument, "not-the-key", [ev("start", now)]).status_code == 403
    body = json.dumps({"nonce": uuid.uuid4().hex, "events": [ev("start", now)]}).encode()
    ts = str(int(time.time()))
    tampered = body.replace(b"start", b"stop!")
    c = APIClient()
    for headers, data in (
        ({"HTTP_X_SANJIAO_TIMESTAMP": ts, "HTTP_X_SANJIAO_SIGNATURE": keys.signature(key, ts, body)}, tampered),
        ({"HTTP_X_SANJIAO_TIMESTAMP": ts}, body),
        ({"HTTP_X_SANJIAO_SIGNATURE": keys.signature(key, ts, body)}, body),
        ({"HTTP_X_SANJIAO_TIMESTAMP": "soon", "HTTP_X_SANJIAO_SIGNATURE": keys.signature(key, "soon", body)}, body),
        ({"HTTP_X_SANJIAO_TIMESTAMP": "9" * 40, "HTTP_X_SANJIAO_SIGNATURE": "00"}, body),
    ):
        assert c.post(url(world.instrument), data=data, content_type="application/json", **headers).status_code == 403
    assert not sessions(world) and not AgentEvent.objects.exists()


def test_an_instrument_without_a_key_refuses_and_another_instruments_key_does_not_fit(world, key):
    from .factories.facilities import InstrumentFactory

    other = InstrumentFactory(facility=world.facility, code="BL2")
    assert signed_post(other, key, [ev("start", timezone.now())]).status_code == 403
    assert (
        APIClient()
        .post("/api/v1/instruments/999999/usage/agent-events/", data=b"{}", content_type="application/json")
        .status_code
        == 404
    )


def test_stale_timestamp_and_replayed_request_are_refused(world, key):
    now = timezone.now()
    stale = signed_post(world.instrument, key, [ev("start", now)], timestamp=int(time.time()) - 301)
    assert stale.status_code == 403 and "clock" in stale.json()["detail"]
    body = json.dumps({"nonce": "n-" + uuid.uuid4().hex, "events": [ev("start", now)]}).encode()
    first = signed_post(world.instrument, key, None, body=body)
    assert first.status_code == 200 and len(first.json()["accepted"]) == 1
    again = signed_post(world.instrument, key, None, body=body)  # a replay, re-signed within the window
    assert again.status_code == 403 and "replay" in again.json()["detail"]
    assert AgentEvent.objects.count() == 1 and len(sessions(world)) == 1


def test_duplicated_events_are_acknowledged_and_change_nothing(world, key):
    now = timezone.now()
    batch = [ev("start", now - 30 * M, "a1"), ev("heartbeat", now - 20 * M, "a2"), ev("stop", now - 10 * M, "a3")]
    assert signed_post(world.instrument, key, batch).json() == {"accepted": ["a1", "a2", "a3"], "duplicates": []}
    before = [(s.start, s.end, s.last_seen) for s in sessions(world)]
    answer = signed_post(world.instrument, key, [*batch, ev("stop", now - 10 * M, "a3")])
    assert answer.json() == {"accepted": [], "duplicates": ["a1", "a2", "a3", "a3"]}
    assert [(s.start, s.end, s.last_seen) for s in sessions(world)] == before
    (only,) = sessions(world)
    assert only.end - only.start == 20 * M and only.ended_by == "stop" and only.source == "agent"


def test_out_of_order_and_late_events_make_the_same_sessions(world, key):
    """An agent that was offline an hour sends its queue in a scrambled order, across several requests."""
    now = timezone.now().replace(microsecond=0)
    t0 = now - 90 * M
    events = [
        ev("start", t0),
        *[ev("heartbeat", t0 + k * M) for k in (5, 10, 15)],
        ev("stop", t0 + 20 * M),
        ev("start", t0 + 40 * M),
        ev("heartbeat", t0 + 45 * M),
        ev("stop", t0 + 50 * M),
    ]
    scrambled = [events[7], events[4], events[2], events[5], events[0], events[6], events[1], events[3]]
    for part in (scrambled[:3], scrambled[3:5], scrambled[5:]):
        assert signed_post(world.instrument, key, part).status_code == 200
    got = [(s.start, s.end, s.ended_by) for s in sessions(world)]
    assert got == [(t0, t0 + 20 * M, "stop"), (t0 + 40 * M, t0 + 50 * M, "stop")]


def test_a_lost_stop_is_closed_at_the_last_heartbeat_and_late_heartbeats_extend_it(world, key):
    UsageSettings.objects.filter(instrument=world.instrument).update(heartbeat_timeout_minutes=5)
    now = timezone.now().replace(microsecond=0)
    t0 = now - 3 * M
    signed_post(world.instrument, key, [ev("start", t0), ev("heartbeat", t0 + M), ev("heartbeat", t0 + 2 * M)])
    (open_one,) = sessions(world)
    assert open_one.end is None and open_one.last_seen == t0 + 2 * M
    assert close_silent_sessions(now=t0 + 6 * M) == 0  # 4 minutes of silence: still in use
    assert close_silent_sessions(now=t0 + 8 * M) == 1  # the stop was lost
    (closed,) = sessions(world)
    assert (closed.end, closed.ended_by) == (t0 + 2 * M, "heartbeat")
    assert close_silent_sessions(now=t0 + 8 * M) == 0  # idempotent
    # The heartbeats the agent queued while it could not reach the server arrive: the same session grows.
    signed_post(world.instrument, key, [ev("heartbeat", t0 + 150 * dt.timedelta(seconds=1)), ev("stop", now)])
    (grown,) = sessions(world)
    assert (grown.pk, grown.end, grown.ended_by) == (closed.pk, now, "stop")


def test_events_arriving_long_after_the_silence_close_at_the_last_heartbeat(world, key):
    UsageSettings.objects.filter(instrument=world.instrument).update(heartbeat_timeout_minutes=5)
    t0 = timezone.now().replace(microsecond=0) - 60 * M
    signed_post(world.instrument, key, [ev("heartbeat", t0 + k * M) for k in (2, 1, 0)])  # no start, no stop
    (s,) = sessions(world)
    assert (s.start, s.end, s.ended_by) == (t0, t0 + 2 * M, "heartbeat")


def test_a_silence_longer_than_the_timeout_splits_use(world, key):
    UsageSettings.objects.filter(instrument=world.instrument).update(heartbeat_timeout_minutes=5)
    t0 = timezone.now().replace(microsecond=0) - 60 * M
    signed_post(world.instrument, key, [ev("start", t0), ev("heartbeat", t0 + 3 * M), ev("heartbeat", t0 + 20 * M)])
    got = [(s.start, s.end) for s in sessions(world)]
    assert got[0] == (t0, t0 + 3 * M) and got[1][0] == t0 + 20 * M


def test_agent_use_is_linked_to_the_booking_and_its_user(world, key):
    t0 = timezone.now().replace(second=0, microsecond=0) - 50 * M
    booking = BookingFactory(
        instrument=world.instrument, requester=world.researcher, institution=world.ustc, start=t0, end=t0 + 60 * M
    )
    signed_post(world.instrument, key, [ev("start", t0 + M), ev("stop", t0 + 30 * M)])
    (s,) = sessions(world)
    assert (s.booking_id, s.user_id) == (booking.pk, world.researcher.pk)
    signed_post(world.instrument, key, [ev("start", t0 + 35 * M, user="out"), ev("stop", t0 + 40 * M)])
    second = sessions(world)[1]
    assert (second.booking_id, second.user_id) == (None, world.outsider.pk)  # someone else: not their booking


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"events": []}',
        b'{"nonce": "12345678", "events": []}',
        b'{"nonce": "12345678", "events": "start"}',
        b'{"nonce": "12345678", "events": [1]}',
        b'{"nonce": "12345678", "events": [{"id": "x", "type": "explode", "at": "2026-12-01T09:00:00+08:00"}]}',
        b'{"nonce": "12345678", "events": [{"id": "x", "type": "start", "at": "2026-12-01T09:00:00"}]}',
        b'{"nonce": "12345678", "events": [{"id": "", "type": "start", "at": "2026-12-01T09:00:00+08:00"}]}',
        b'{"nonce": "12345678", "events": [{"id": "x", "type": "start", "at": "2999-12-01T09:00:00+08:00"}]}',
        b'{"nonce": "12345678", "events": [{"id": "x", "type": "start", "at": "2001-12-01T09:00:00+08:00"}]}',
        b'{"nonce": "12345678", "events": [{"id": "x", "type": "start", "at": "2026-12-01T09:00:00+08:00", '
        b'"user": 5}]}',
    ],
)
def test_malformed_bodies_are_400_not_500(world, key, body):
    answer = signed_post(world.instrument, key, None, body=body)
    assert answer.status_code == 400, answer.content
    assert not AgentEvent.objects.exists()
