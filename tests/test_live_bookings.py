"""/ws/queue/ and /ws/me/: who may listen, what they hear, and that nothing stays joined afterwards."""

import datetime as dt

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from booking.live.consumers import MyBookingsConsumer, QueueConsumer
from booking.services import booking_approve, booking_cancel, booking_request
from config.asgi import application
from facilities.models import Membership
from facilities.models.tenants import Role

from .factories.facilities import FacilityFactory, InstrumentFactory
from .live_helpers import committed, run

H = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def live_settings(settings, monkeypatch):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


def layer_groups():
    return {g: set(m) for g, m in get_channel_layer().groups.items() if m}


async def open_as(consumer, path, user):
    ws = WebsocketCommunicator(consumer.as_asgi(), path)
    ws.scope["user"] = user if user is not None else AnonymousUser()
    connected, _ = await ws.connect(timeout=10)
    assert connected
    return ws


async def refused_with(ws, code, words):
    error = await ws.receive_json_from(timeout=10)
    assert error["type"] == "error" and words in error["detail"]
    closed = await ws.receive_output(timeout=10)
    assert closed == {"type": "websocket.close", "code": code}


def test_queue_refuses_anonymous_and_non_managers(world):
    async def scenario():
        ws = await open_as(QueueConsumer, "/ws/queue/", None)
        await refused_with(ws, 4401, "Sign in")
        ws = await open_as(QueueConsumer, "/ws/queue/", world.researcher)
        await refused_with(ws, 4403, "Only facility managers")
        assert layer_groups() == {}

    run(scenario)


def test_me_refuses_anonymous(world):
    async def scenario():
        ws = await open_as(MyBookingsConsumer, "/ws/me/", None)
        await refused_with(ws, 4401, "Sign in")

    run(scenario)


def test_manager_hears_own_facility_only(world, tomorrow_9):
    inst = world.instrument
    inst.requires_approval = True
    inst.save()
    elsewhere = InstrumentFactory(facility=FacilityFactory(code="OTHER", host=world.zju))

    async def scenario():
        ws = await open_as(QueueConsumer, "/ws/queue/", world.manager)
        b = await committed(booking_request)(
            requester=world.researcher,
            instrument=inst,
            start=tomorrow_9,
            end=tomorrow_9 + H,
            purpose="XAS of catalysts",
        )
        msg = await ws.receive_json_from(timeout=10)
        assert msg["type"] == "booking" and msg["event"] == "requested"
        assert msg["booking"] == {
            "id": b.pk,
            "instrument": inst.pk,
            "start": tomorrow_9.isoformat(),
            "end": (tomorrow_9 + H).isoformat(),
            "status": "requested",
            "requester": "res",
            "institution": "USTC",
            "purpose": "XAS of catalysts",
            "splits": [{"account": world.researcher_account.pk, "percent": "100.00"}],
        }
        await committed(booking_request)(
            requester=world.outsider, instrument=elsewhere, start=tomorrow_9, end=tomorrow_9 + H
        )
        assert await ws.receive_nothing(timeout=0.2), "another facility's booking leaked to this manager"
        await committed(booking_cancel)(actor=world.researcher, booking_id=b.pk)
        msg = await ws.receive_json_from(timeout=10)
        assert (msg["event"], msg["booking"]["status"]) == ("cancelled", "cancelled")
        await ws.disconnect(timeout=10)
        assert layer_groups() == {}

    run(scenario)


def test_manager_removed_while_connected_stops_hearing(world, tomorrow_9):
    async def scenario():
        ws = await open_as(QueueConsumer, "/ws/queue/", world.manager)
        await database_sync_to_async(
            lambda: Membership.objects.filter(user=world.manager, role=Role.FACILITY_MANAGER).delete()
        )()
        await committed(booking_request)(
            requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
        )
        assert await ws.receive_nothing(timeout=0.2)
        await ws.disconnect(timeout=10)

    run(scenario)


def test_researcher_hears_own_bookings_only(world, tomorrow_9):
    inst = world.instrument
    inst.requires_approval = True
    inst.save()

    async def scenario():
        mine = await open_as(MyBookingsConsumer, "/ws/me/", world.researcher)
        theirs = await open_as(MyBookingsConsumer, "/ws/me/", world.outsider)
        b = await committed(booking_request)(
            requester=world.researcher, instrument=inst, start=tomorrow_9, end=tomorrow_9 + H
        )
        assert (await mine.receive_json_from(timeout=10))["event"] == "requested"
        await committed(booking_approve)(actor=world.manager, booking_id=b.pk)
        msg = await mine.receive_json_from(timeout=10)
        assert (msg["event"], msg["booking"]["id"], msg["booking"]["status"]) == ("approved", b.pk, "approved")
        assert await theirs.receive_nothing(timeout=0.2)
        await mine.send_json_to({"type": "subscribe"})
        assert "takes no messages" in (await mine.receive_json_from(timeout=10))["detail"]
        await mine.disconnect(timeout=10)
        await theirs.disconnect(timeout=10)
        assert layer_groups() == {}

    run(scenario)


def test_full_stack_session_auth_and_origin_check(world, tomorrow_9):
    """Through config.asgi: the session cookie signs the socket in; a foreign Origin is turned away."""
    client = Client()
    client.force_login(world.researcher)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def scenario():
        ws = WebsocketCommunicator(
            application,
            "/ws/me/",
            headers=[(b"cookie", cookie), (b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")],
        )
        connected, _ = await ws.connect(timeout=10)
        assert connected
        await committed(booking_request)(
            requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
        )
        assert (await ws.receive_json_from(timeout=10))["booking"]["requester"] == "res"
        await ws.disconnect(timeout=10)

        foreign = WebsocketCommunicator(application, "/ws/availability/", headers=[(b"origin", b"http://evil.example")])
        connected, _ = await foreign.connect(timeout=10)
        assert not connected

        anonymous = WebsocketCommunicator(
            application, "/ws/queue/", headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
        )
        assert (await anonymous.connect(timeout=10))[0]
        await refused_with(anonymous, 4401, "Sign in")
        assert layer_groups() == {}

    run(scenario)


def test_queue_socket_that_fails_leaves_its_groups(world, tomorrow_9, monkeypatch):
    async def scenario():
        ws = await open_as(QueueConsumer, "/ws/queue/", world.manager)
        channel = set(next(iter(layer_groups().values())))
        # Its facility's group, and its person's session group (closed when a session ends).
        assert layer_groups() == {
            f"live.facility.{world.facility.pk}": channel,
            f"live.session.{world.manager.pk}": channel,
        }

        async def boom(self, message):
            raise RuntimeError("consumer bug")

        monkeypatch.setattr(QueueConsumer, "live_booking", boom)
        await committed(booking_request)(
            requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
        )
        with pytest.raises(RuntimeError):
            await ws.wait(timeout=10)
        assert layer_groups() == {}

    run(scenario)
