"""/ws/availability/ over the in-memory channel layer: snapshots, updates, limits, errors, cleanup."""

import asyncio
import datetime as dt
import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import TestCase

from booking.live import hub as hub_module
from booking.live.consumers import AvailabilityConsumer
from booking.selectors import availability
from booking.services import booking_approve, booking_cancel, booking_move, booking_request
from common.time import iso_local
from facilities.models import OperatingHours
from facilities.services import closure_add

from .factories.facilities import InstrumentFactory
from .live_helpers import committed, run

H = dt.timedelta(hours=1)
app = AvailabilityConsumer.as_asgi()


@pytest.fixture(autouse=True)
def live_settings(settings, monkeypatch):
    # The test's data lives in one open transaction; channels' "close stale connections" would end it.
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.LIVE_RESYNC_SECONDS = 3600
    yield settings
    for hub in hub_module._hubs.values():
        assert not hub.subs, "a subscription outlived its socket"
        assert not hub.running, "the hub kept listening with nobody subscribed"


async def connect(path="/ws/availability/"):
    ws = WebsocketCommunicator(app, path)
    connected, _ = await ws.connect(timeout=10)
    assert connected
    return ws


async def subscribe(ws, ids, start, end):
    await ws.send_json_to({"type": "subscribe", "instruments": ids, "start": start.isoformat(), "end": end.isoformat()})


def busy(*spans, kind="booking"):
    return [{"start": iso_local(s), "end": iso_local(e), "kind": kind} for s, e in spans]


def public_busy(instrument, start, end):
    snap = availability(instrument, start, end)
    return snap["version"], [
        {"start": iso_local(b["start"]), "end": iso_local(b["end"]), "kind": b["kind"]} for b in snap["busy"]
    ]


def layer_groups():
    layer = get_channel_layer()
    return {g: set(members) for g, members in getattr(layer, "groups", {}).items() if members}


def test_snapshot_then_updates_for_every_change_in_the_window(world, tomorrow_9):
    inst = world.instrument
    start, end = tomorrow_9 - 9 * H, tomorrow_9 + 15 * H

    async def scenario():
        ws = await connect()
        await subscribe(ws, [inst.pk], start, end)
        snap = await ws.receive_json_from(timeout=10)
        v0, expected = await database_sync_to_async(public_busy)(inst, start, end)
        assert snap == {"type": "snapshot", "instrument": inst.pk, "version": v0, "busy": expected}

        b = await committed(booking_request)(
            requester=world.researcher, instrument=inst, start=tomorrow_9, end=tomorrow_9 + 2 * H
        )
        up = await ws.receive_json_from(timeout=10)
        assert up == {
            "type": "update",
            "instrument": inst.pk,
            "version": v0 + 1,
            "busy": busy((tomorrow_9, tomorrow_9 + 2 * H)),
        }

        await committed(booking_cancel)(actor=world.researcher, booking_id=b.pk)
        up = await ws.receive_json_from(timeout=10)
        assert up == {"type": "update", "instrument": inst.pk, "version": v0 + 2, "busy": []}
        # What the socket shows is what the availability endpoint says.
        assert (up["version"], up["busy"]) == await database_sync_to_async(public_busy)(inst, start, end)
        await ws.disconnect(timeout=10)

    run(scenario)


def test_approval_reaches_subscribers_though_busy_list_is_unchanged(world, tomorrow_9):
    inst = world.instrument
    inst.requires_approval = True
    inst.save()

    async def scenario():
        ws = await connect()
        await subscribe(ws, [inst.pk], tomorrow_9, tomorrow_9 + 4 * H)
        v0 = (await ws.receive_json_from(timeout=10))["version"]
        b = await committed(booking_request)(
            requester=world.researcher, instrument=inst, start=tomorrow_9, end=tomorrow_9 + H
        )
        assert (await ws.receive_json_from(timeout=10))["version"] == v0 + 1
        await committed(booking_approve)(actor=world.manager, booking_id=b.pk)
        up = await ws.receive_json_from(timeout=10)
        assert up["version"] == v0 + 2 and up["busy"] == busy((tomorrow_9, tomorrow_9 + H))
        await ws.disconnect(timeout=10)

    run(scenario)


def test_changes_outside_the_window_are_not_sent_and_versions_only_grow(world, tomorrow_9):
    inst = world.instrument

    async def scenario():
        ws = await connect()
        await subscribe(ws, [inst.pk], tomorrow_9, tomorrow_9 + 4 * H)
        v0 = (await ws.receive_json_from(timeout=10))["version"]
        # Two days later: not in this window.
        await committed(booking_request)(
            requester=world.researcher, instrument=inst, start=tomorrow_9 + 48 * H, end=tomorrow_9 + 49 * H
        )
        assert await ws.receive_nothing(timeout=0.2)
        await committed(booking_request)(
            requester=world.outsider, instrument=inst, start=tomorrow_9 + H, end=tomorrow_9 + 2 * H
        )
        up = await ws.receive_json_from(timeout=10)
        assert up["version"] == v0 + 2, "the newest version, skipping the change that did not touch the window"
        assert up["busy"] == busy((tomorrow_9 + H, tomorrow_9 + 2 * H))
        await ws.disconnect(timeout=10)

    run(scenario)


def test_closure_and_operating_hours_show_as_closure(world, tomorrow_9):
    inst = world.instrument
    for weekday in range(7):
        OperatingHours.objects.create(facility=world.facility, weekday=weekday, opens=dt.time(8), closes=dt.time(20))
    start, end = tomorrow_9 - 9 * H, tomorrow_9 + 15 * H  # local midnight to midnight

    async def scenario():
        ws = await connect()
        await subscribe(ws, [inst.pk], start, end)
        snap = await ws.receive_json_from(timeout=10)
        assert snap["busy"] == busy((start, start + 8 * H), (start + 20 * H, end), kind="closure")
        await committed(closure_add)(
            actor=world.manager, facility=world.facility, start=tomorrow_9 + 3 * H, end=tomorrow_9 + 5 * H
        )
        up = await ws.receive_json_from(timeout=10)
        assert up["version"] == snap["version"] + 1
        assert (up["version"], up["busy"]) == await database_sync_to_async(public_busy)(inst, start, end)
        assert {"start": iso_local(tomorrow_9 + 3 * H), "end": iso_local(tomorrow_9 + 5 * H), "kind": "closure"} in up[
            "busy"
        ]
        await ws.disconnect(timeout=10)

    run(scenario)


def test_many_subscribers_one_read_per_change(world, tomorrow_9, monkeypatch):
    """The hub reads the busy list once per change; fifty sockets in two windows add no query."""
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from booking.live import hub as hub_mod
    from booking.live.state import wide_state

    inst = world.instrument
    computed = []
    monkeypatch.setattr(hub_mod, "wide_state", lambda pk: computed.append(pk) or wide_state(pk))
    monkeypatch.setattr(hub_mod, "window_state", lambda *a: pytest.fail("a subscriber cost a fallback query"))

    def one_read() -> int:
        with CaptureQueriesContext(connections["default"]) as read:
            wide_state(inst.pk)
        return len(read)

    def book() -> int:
        with CaptureQueriesContext(connections["default"]) as queries:
            with TestCase.captureOnCommitCallbacks(execute=True):
                booking_request(requester=world.researcher, instrument=inst, start=tomorrow_9, end=tomorrow_9 + H)
        return len(queries)

    async def scenario():
        read_queries = await database_sync_to_async(one_read)()
        sockets = [await connect() for _ in range(50)]
        for i, ws in enumerate(sockets):
            # Two distinct windows among the sockets, both inside the hub's wide window.
            await subscribe(ws, [inst.pk], tomorrow_9 - (i % 2) * H, tomorrow_9 + 4 * H)
            await ws.receive_json_from(timeout=10)
        # Every query of this test, the hub's included, runs on the test's own connection (the
        # database thread); count them there.
        fan_out = CaptureQueriesContext(await database_sync_to_async(lambda: connections["default"])())
        await database_sync_to_async(fan_out.__enter__)()
        booked = await database_sync_to_async(book)()
        for ws in sockets:
            up = await ws.receive_json_from(timeout=10)
            assert up["busy"] == busy((tomorrow_9, tomorrow_9 + H))
        await database_sync_to_async(fan_out.__exit__)(None, None, None)
        assert computed == [inst.pk], "the hub read the change once for fifty sockets"
        assert len(fan_out) == booked + read_queries, "delivering to the sockets ran more than one read"
        for ws in sockets:
            await ws.disconnect(timeout=10)

    run(scenario)


def test_subscriber_outside_the_published_window_falls_back_to_a_query(world, tomorrow_9, settings):
    settings.LIVE_PUBLISH_MAX_DAYS = 10
    inst = world.instrument
    far = tomorrow_9 + dt.timedelta(days=30)

    async def scenario():
        ws = await connect()
        await subscribe(ws, [inst.pk], far, far + 4 * H)
        v0 = (await ws.receive_json_from(timeout=10))["version"]
        await committed(booking_request)(requester=world.researcher, instrument=inst, start=far, end=far + H)
        up = await ws.receive_json_from(timeout=10)
        assert up == {"type": "update", "instrument": inst.pk, "version": v0 + 1, "busy": busy((far, far + H))}
        await ws.disconnect(timeout=10)

    run(scenario)


def test_reconnect_after_missed_changes_gets_a_correct_snapshot(world, tomorrow_9):
    inst = world.instrument
    window = (tomorrow_9, tomorrow_9 + 6 * H)

    async def scenario():
        ws = await connect()
        await subscribe(ws, [inst.pk], *window)
        seen = [(await ws.receive_json_from(timeout=10))["version"]]
        b = await committed(booking_request)(
            requester=world.researcher, instrument=inst, start=tomorrow_9, end=tomorrow_9 + H
        )
        seen.append((await ws.receive_json_from(timeout=10))["version"])
        await ws.disconnect(timeout=10)  # the client drops ...
        await committed(booking_cancel)(actor=world.researcher, booking_id=b.pk)  # ... changes happen ...
        await committed(booking_request)(
            requester=world.outsider, instrument=inst, start=tomorrow_9 + 2 * H, end=tomorrow_9 + 3 * H
        )
        ws = await connect()  # ... and it comes back
        await subscribe(ws, [inst.pk], *window)
        snap = await ws.receive_json_from(timeout=10)
        assert snap["version"] > seen[-1]
        assert (snap["version"], snap["busy"]) == await database_sync_to_async(public_busy)(inst, *window)
        assert snap["busy"] == busy((tomorrow_9 + 2 * H, tomorrow_9 + 3 * H))
        await ws.disconnect(timeout=10)

    run(scenario)


def test_resubscribe_with_a_new_window_replaces_the_old_one(world, tomorrow_9):
    inst = world.instrument

    async def scenario():
        ws = await connect()
        await subscribe(ws, [inst.pk], tomorrow_9, tomorrow_9 + 2 * H)
        v0 = (await ws.receive_json_from(timeout=10))["version"]
        await subscribe(ws, [inst.pk], tomorrow_9 + 4 * H, tomorrow_9 + 8 * H)
        assert (await ws.receive_json_from(timeout=10))["version"] >= v0
        # A change in the old window only is not sent any more.
        await committed(booking_request)(
            requester=world.researcher, instrument=inst, start=tomorrow_9, end=tomorrow_9 + H
        )
        assert await ws.receive_nothing(timeout=0.2)
        await ws.disconnect(timeout=10)

    run(scenario)


def test_unsubscribe_stops_updates_and_leaves_no_group(world, tomorrow_9):
    inst = world.instrument
    other = InstrumentFactory(facility=world.facility)

    async def scenario():
        ws = await connect()
        await subscribe(ws, [inst.pk, other.pk], tomorrow_9, tomorrow_9 + 4 * H)
        snaps = [await ws.receive_json_from(timeout=10), await ws.receive_json_from(timeout=10)]
        assert [s["instrument"] for s in snaps] == [inst.pk, other.pk]
        assert set(layer_groups()) == {f"live.availability.{inst.pk}", f"live.availability.{other.pk}"}
        await ws.send_json_to({"type": "unsubscribe", "instruments": [inst.pk]})
        assert await ws.receive_json_from(timeout=10) == {"type": "unsubscribed", "instruments": [inst.pk]}
        assert set(layer_groups()) == {f"live.availability.{other.pk}"}
        await committed(booking_request)(
            requester=world.researcher, instrument=inst, start=tomorrow_9, end=tomorrow_9 + H
        )
        assert await ws.receive_nothing(timeout=0.2)
        await committed(booking_request)(
            requester=world.researcher, instrument=other, start=tomorrow_9, end=tomorrow_9 + H
        )
        assert (await ws.receive_json_from(timeout=10))["instrument"] == other.pk
        await ws.disconnect(timeout=10)
        assert layer_groups() == {}

    run(scenario)


NOV_2, NOV_3 = "2026-11-02T00:00:00+08:00", "2026-11-03T00:00:00+08:00"


def subscribe_text(instruments: object, start: str = NOV_2, end: str = NOV_3) -> str:
    return json.dumps({"type": "subscribe", "instruments": instruments, "start": start, "end": end})


@pytest.mark.parametrize(
    "message,words",
    [
        ("not json", "not valid JSON"),
        ("[" * 8000, "nested too deeply"),
        ("[1, 2]", "JSON object"),
        ('{"type": "dance"}', "Unknown message type"),
        ('{"instruments": [1]}', '"type"'),
        (subscribe_text("1"), "list of instrument ids"),
        (subscribe_text([True]), "positive whole numbers"),
        ('{"type": "subscribe", "instruments": [1], "end": "2026-11-03T00:00:00+08:00"}', '"start" is required'),
        (subscribe_text([1], start="yesterday"), "not an ISO 8601 time"),
        (subscribe_text([1], start="2026-11-02T00:00:00"), "UTC offset"),
        (subscribe_text([1], start=NOV_3, end=NOV_2), "after"),
        (subscribe_text([1], start="2026-01-01T00:00:00+08:00", end="2026-06-01T00:00:00+08:00"), "at most 62 days"),
        (subscribe_text([999999]), "No such instrument: 999999"),
        (subscribe_text(list(range(1, 52))), "at most 50"),
        (json.dumps({"type": "subscribe", "pad": "x" * 9000}), "at most 8192 bytes"),
    ],
)
def test_bad_messages_get_an_error_in_words_and_the_socket_stays_open(world, message, words, tomorrow_9):
    async def scenario():
        ws = await connect()
        await ws.send_to(text_data=message)
        error = await ws.receive_json_from(timeout=10)
        assert error["type"] == "error" and words in error["detail"], error
        # Still open and working.
        await subscribe(ws, [world.instrument.pk], tomorrow_9, tomorrow_9 + H)
        assert (await ws.receive_json_from(timeout=10))["type"] == "snapshot"
        await ws.disconnect(timeout=10)

    run(scenario)


def test_binary_frames_are_refused_in_words(world):
    async def scenario():
        ws = await connect()
        await ws.send_to(bytes_data=b"\x00\x01")
        assert "text frames" in (await ws.receive_json_from(timeout=10))["detail"]
        await ws.disconnect(timeout=10)

    run(scenario)


def test_instrument_limit_counts_across_messages(world, tomorrow_9, settings):
    settings.LIVE_MAX_INSTRUMENTS = 2
    extra = [InstrumentFactory(facility=world.facility) for _ in range(2)]

    async def scenario():
        ws = await connect()
        await subscribe(ws, [world.instrument.pk, extra[0].pk], tomorrow_9, tomorrow_9 + H)
        await ws.receive_json_from(timeout=10)
        await ws.receive_json_from(timeout=10)
        await subscribe(ws, [extra[1].pk], tomorrow_9, tomorrow_9 + H)
        error = await ws.receive_json_from(timeout=10)
        assert error["type"] == "error" and "at most 2 per connection" in error["detail"]
        await ws.disconnect(timeout=10)

    run(scenario)


def test_message_rate_is_limited_with_one_error(world, settings):
    settings.LIVE_MAX_MESSAGES_PER_SECOND = 5

    async def scenario():
        ws = await connect()
        for _ in range(30):
            await ws.send_json_to({"type": "unsubscribe", "instruments": [world.instrument.pk]})
        replies = []
        while not await ws.receive_nothing(timeout=0.2):
            replies.append(await ws.receive_json_from(timeout=10))
        acks = [r for r in replies if r["type"] == "unsubscribed"]
        errors = [r for r in replies if r["type"] == "error"]
        assert 5 <= len(acks) < 30
        assert len(errors) == 1 and "at most 5 a second" in errors[0]["detail"]
        await asyncio.sleep(0.3)  # the bucket refills: the socket works again
        await ws.send_json_to({"type": "unsubscribe", "instruments": [world.instrument.pk]})
        assert (await ws.receive_json_from(timeout=10))["type"] == "unsubscribed"
        await ws.disconnect(timeout=10)

    run(scenario)


def test_a_change_without_a_message_is_found_by_the_database_check(world, tomorrow_9, settings, monkeypatch):
    """What a change made by another process looks like on the in-memory layer (or a lost pub/sub
    message): no message, only a higher version in the database. Where it happened is unknown, so every
    socket of the instrument is sent the new state, an approval (busy list unchanged) included."""
    settings.LIVE_RESYNC_SECONDS = 0.05
    inst = world.instrument
    inst.requires_approval = True
    inst.save()
    from booking.live import publish

    async def scenario():
        near, far = await connect(), await connect()
        await subscribe(near, [inst.pk], tomorrow_9, tomorrow_9 + 4 * H)
        await subscribe(far, [inst.pk], tomorrow_9 + 48 * H, tomorrow_9 + 52 * H)
        v0 = (await near.receive_json_from(timeout=10))["version"]
        assert (await far.receive_json_from(timeout=10))["version"] == v0
        monkeypatch.setattr(publish, "send", lambda *messages: None)  # no message reaches the hub
        b = await committed(booking_request)(
            requester=world.researcher, instrument=inst, start=tomorrow_9, end=tomorrow_9 + H
        )
        held = busy((tomorrow_9, tomorrow_9 + H))
        update = {"type": "update", "instrument": inst.pk}
        assert await near.receive_json_from(timeout=3) == {**update, "version": v0 + 1, "busy": held}
        assert await far.receive_json_from(timeout=3) == {**update, "version": v0 + 1, "busy": []}
        await committed(booking_approve)(actor=world.manager, booking_id=b.pk)
        assert await near.receive_json_from(timeout=3) == {**update, "version": v0 + 2, "busy": held}
        assert (await far.receive_json_from(timeout=3))["version"] == v0 + 2
        await near.disconnect(timeout=10)
        await far.disconnect(timeout=10)

    run(scenario)


def test_changes_heard_while_reading_are_served_by_one_more_read(world, tomorrow_9, monkeypatch):
    """Three changes announced while the hub reads the first: one more read serves the other two, with
    the newest version and every place they touched."""
    from booking.live import hub as hub_mod
    from booking.live.publish import publish_availability
    from booking.live.state import to_us, wide_state

    inst = world.instrument
    reads, gate = [], asyncio.Event()

    async def slow_read(self, instrument):
        reads.append(instrument)
        if len(reads) == 1:
            await gate.wait()
        return await database_sync_to_async(wide_state)(instrument)

    monkeypatch.setattr(hub_mod.Hub, "read_state", slow_read)

    async def scenario():
        ws = await connect()
        await subscribe(ws, [inst.pk], tomorrow_9, tomorrow_9 + 4 * H)
        v0 = (await ws.receive_json_from(timeout=10))["version"]
        at = (to_us(tomorrow_9), to_us(tomorrow_9 + H))
        for v in (v0 + 1, v0 + 2, v0 + 3):
            await database_sync_to_async(publish_availability)(inst.pk, v, [at])
        while not reads:
            await asyncio.sleep(0.01)
        gate.set()
        versions = [(await ws.receive_json_from(timeout=10))["version"] for _ in range(2)]
        assert versions == [v0 + 1, v0 + 3]
        assert reads == [inst.pk, inst.pk]
        assert await ws.receive_nothing(timeout=0.2)
        await ws.disconnect(timeout=10)

    run(scenario)


def test_stale_and_repeated_messages_are_dropped(world, tomorrow_9):
    inst = world.instrument

    async def scenario():
        ws = await connect()
        await subscribe(ws, [inst.pk], tomorrow_9, tomorrow_9 + 4 * H)
        v0 = (await ws.receive_json_from(timeout=10))["version"]
        await committed(booking_request)(
            requester=world.researcher, instrument=inst, start=tomorrow_9, end=tomorrow_9 + H
        )
        first = await ws.receive_json_from(timeout=10)
        assert first["version"] == v0 + 1
        # The same version again, and an older one, as pub/sub reordering could deliver them.
        from booking.live.publish import publish_availability

        await database_sync_to_async(publish_availability)(inst.pk, v0 + 1, [(0, 2**60)])
        await database_sync_to_async(publish_availability)(inst.pk, v0, [(0, 2**60)])
        assert await ws.receive_nothing(timeout=0.2)
        await ws.disconnect(timeout=10)

    run(scenario)


def test_socket_that_fails_leaves_nothing_behind(world, tomorrow_9, monkeypatch):
    """An exception inside the consumer still discards its subscriptions (checked by the fixture)."""
    inst = world.instrument

    async def scenario():
        ws = await connect()
        await subscribe(ws, [inst.pk], tomorrow_9, tomorrow_9 + 4 * H)
        await ws.receive_json_from(timeout=10)
        assert layer_groups()

        async def boom(self, content):
            raise RuntimeError("consumer bug")

        monkeypatch.setattr(AvailabilityConsumer, "handle", boom)
        await ws.send_json_to({"type": "unsubscribe", "instruments": [inst.pk]})
        with pytest.raises(RuntimeError):
            await ws.wait(timeout=1)
        assert layer_groups() == {}

    run(scenario)


def test_simultaneous_subscribes_share_one_read_and_all_hear_the_next_change(world, tomorrow_9):
    inst = world.instrument

    async def scenario():
        sockets = [await connect() for _ in range(10)]
        for ws in sockets:  # all at once, as after a server restart
            await subscribe(ws, [inst.pk], tomorrow_9, tomorrow_9 + 4 * H)
        snaps = [await ws.receive_json_from(timeout=10) for ws in sockets]
        assert len({(s["version"], json.dumps(s["busy"])) for s in snaps}) == 1
        await committed(booking_request)(
            requester=world.researcher, instrument=inst, start=tomorrow_9, end=tomorrow_9 + H
        )
        for ws in sockets:
            up = await ws.receive_json_from(timeout=10)
            assert (up["version"], up["busy"]) == (snaps[0]["version"] + 1, busy((tomorrow_9, tomorrow_9 + H)))
        for ws in sockets:
            await ws.disconnect(timeout=10)

    run(scenario)


def test_a_move_updates_the_window_it_left_and_the_one_it_entered(world, tomorrow_9):
    inst = world.instrument
    left, entered = (tomorrow_9, tomorrow_9 + 2 * H), (tomorrow_9 + 4 * H, tomorrow_9 + 6 * H)

    async def scenario():
        b = await committed(booking_request)(
            requester=world.researcher, instrument=inst, start=tomorrow_9, end=tomorrow_9 + H
        )
        old_ws, new_ws = await connect(), await connect()
        await subscribe(old_ws, [inst.pk], *left)
        await subscribe(new_ws, [inst.pk], *entered)
        v0 = (await old_ws.receive_json_from(timeout=10))["version"]
        await new_ws.receive_json_from(timeout=10)
        await committed(booking_move)(actor=world.researcher, booking_id=b.pk, start=entered[0], end=entered[0] + H)
        assert await old_ws.receive_json_from(timeout=10) == {
            "type": "update",
            "instrument": inst.pk,
            "version": v0 + 1,
            "busy": [],
        }
        up = await new_ws.receive_json_from(timeout=10)
        assert (up["version"], up["busy"]) == (v0 + 1, busy((entered[0], entered[0] + H)))
        await old_ws.disconnect(timeout=10)
        await new_ws.disconnect(timeout=10)

    run(scenario)
