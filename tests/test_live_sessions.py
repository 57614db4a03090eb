"""WebSockets end with the session: the Origin must be the socket's own (scheme, host, port); signing out
closes that session's sockets, a password change or a deactivation all of the person's, within a
second, on the in-memory layer and on Redis; /ws/me/ sends nothing after sign-out even if the close
message were lost."""

import asyncio
import datetime as dt
import os
import time

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from booking.services import booking_request
from common.origin import origin_allowed
from config.asgi import application

from .live_helpers import committed, run

H = dt.timedelta(hours=1)
PROMISE_SECONDS = 1.0
HOST = b"127.0.0.1:8000"
ORIGIN = b"http://127.0.0.1:8000"

needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis at REDIS_URL")


def scope(origin: str | None, host: str = "127.0.0.1:8000", scheme: str = "ws") -> dict:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": headers}


@pytest.mark.parametrize(
    ("origin", "host", "scheme", "allowed"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", "ws", True),
        ("http://127.0.0.1:8000/", "127.0.0.1:8000", "ws", True),
        ("HTTP://LOCALHOST:8000", "localhost:8000", "ws", True),
        ("http://127.0.0.1:9999", "127.0.0.1:8000", "ws", False),  # another port of the same machine
        ("http://localhost:3000", "127.0.0.1:8000", "ws", False),
        ("http://localhost:3000", "localhost:8000", "ws", False),
        ("http://127.0.0.1", "127.0.0.1:8000", "ws", False),
        ("https://127.0.0.1:8000", "127.0.0.1:8000", "ws", False),  # another scheme
        ("http://evil.example", "127.0.0.1:8000", "ws", False),
        ("http://evil.example", "evil.example", "ws", False),  # a Host not in ALLOWED_HOSTS
        (None, "127.0.0.1:8000", "ws", False),
        ("null", "127.0.0.1:8000", "ws", False),
        ("http://127.0.0.1:8000/page", "127.0.0.1:8000", "ws", False),
        ("http://user@127.0.0.1:8000", "127.0.0.1:8000", "ws", False),
        ("http://127.0.0.1:99999", "127.0.0.1:8000", "ws", False),
        ("http://[::1]:8000", "[::1]:8000", "ws", True),
        ("http://localhost", "localhost", "ws", True),
        ("http://localhost:80", "localhost", "ws", True),
    ],
)
def test_the_origin_must_be_the_sockets_own(origin, host, scheme, allowed):
    assert origin_allowed(scope(origin, host, scheme)) is allowed


def test_behind_a_tls_proxy_the_https_origin_matches_wss_or_a_trusted_origin(settings):
    settings.ALLOWED_HOSTS = ["sanjiao.example.org"]
    # daphne --proxy-headers turns X-Forwarded-Proto: https into the scheme wss.
    assert origin_allowed(scope("https://sanjiao.example.org", "sanjiao.example.org", "wss"))
    assert origin_allowed(scope("https://sanjiao.example.org:443", "sanjiao.example.org", "wss"))
    assert not origin_allowed(scope("http://sanjiao.example.org", "sanjiao.example.org", "wss"))
    assert not origin_allowed(scope("https://sanjiao.example.org:8443", "sanjiao.example.org", "wss"))
    # Without the forwarded scheme the socket looks like ws: only a configured trusted origin then fits.
    assert not origin_allowed(scope("https://sanjiao.example.org", "sanjiao.example.org", "ws"))
    settings.CSRF_TRUSTED_ORIGINS = ["https://sanjiao.example.org"]
    assert origin_allowed(scope("https://sanjiao.example.org", "sanjiao.example.org", "ws"))
    assert not origin_allowed(scope("https://other.example.org", "sanjiao.example.org", "ws"))


def test_the_full_stack_refuses_a_foreign_port_and_accepts_its_own(world):
    async def scenario():
        for origin, ok in [(ORIGIN, True), (b"http://127.0.0.1:9999", False), (b"http://localhost:3000", False)]:
            ws = WebsocketCommunicator(application, "/ws/availability/", headers=[(b"host", HOST), (b"origin", origin)])
            connected, _ = await ws.connect(timeout=10)
            assert connected is ok, origin
            if connected:
                await ws.disconnect()

    run(scenario)


# --- sockets end with the session ---------------------------------------------------------------------


@pytest.fixture(params=["memory", pytest.param("redis", marks=[pytest.mark.redis, needs_redis])])
def layer(request, settings, monkeypatch):
    if request.param == "memory":
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    else:
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [os.environ["REDIS_URL"]], "prefix": f"test-auth-{os.getpid()}"},
            }
        }
    from channels.layers import channel_layers

    channel_layers.backends.clear()  # the next get_channel_layer() builds the layer named above
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)
    yield request.param
    channel_layers.backends.clear()


def signed_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def socket_of(client: Client, path: str) -> WebsocketCommunicator:
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    ws = WebsocketCommunicator(application, path, headers=[(b"cookie", cookie), (b"host", HOST), (b"origin", ORIGIN)])
    connected, _ = await ws.connect(timeout=10)
    assert connected
    return ws


@pytest.fixture
def ended_at():
    """When the session ended: the moment `credentials_changed` is sent (after commit), which is what the
    second is counted from (not the rest of the request around it)."""
    from facilities.signals import credentials_changed

    times: list[float] = []

    def note(**kwargs):
        times.append(time.monotonic())

    credentials_changed.connect(note, dispatch_uid="test.ended_at")
    yield times
    credentials_changed.disconnect(dispatch_uid="test.ended_at")


async def closed_within(ws: WebsocketCommunicator, ended_at: list[float], reason: str) -> None:
    said = await ws.receive_json_from(timeout=5)
    assert said == {"type": "closed", "reason": reason}
    assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    took = time.monotonic() - ended_at[0]
    assert took <= PROMISE_SECONDS, f"the socket closed after {took:.2f} s"


async def still_open(ws: WebsocketCommunicator) -> None:
    assert await ws.receive_nothing(timeout=0.3)


def sync(fn):
    return committed(fn)


async def settle(layer: str) -> None:
    if layer == "redis":
        await asyncio.sleep(0.3)  # the pub/sub subscriptions of new groups are in place


def test_signing_out_closes_that_sessions_sockets_within_a_second(world, layer, tomorrow_9, ended_at):
    here = signed_in_client(world.researcher)
    elsewhere = signed_in_client(world.researcher)  # another device: it stays signed in

    async def scenario():
        me = await socket_of(here, "/ws/me/")
        calendar = await socket_of(here, "/ws/availability/")
        other = await socket_of(elsewhere, "/ws/me/")
        await settle(layer)
        signed_out = await sync(here.post)("/logout/")
        assert signed_out.status_code == 302
        await closed_within(me, ended_at, "signed_out")
        await closed_within(calendar, ended_at, "signed_out")
        await still_open(other)

        # The other session's socket still hears the person's bookings.
        await sync(booking_request)(
            requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
        )
        heard = await other.receive_json_from(timeout=10)
        assert heard["type"] == "booking" and heard["event"] == "requested"
        await other.disconnect()

    run(scenario)


def test_a_password_change_closes_every_socket_of_the_person_and_no_one_elses(world, layer, ended_at):
    here = signed_in_client(world.researcher)
    elsewhere = signed_in_client(world.researcher)
    someone_else = signed_in_client(world.outsider)
    new = "violet-harbour-quartz"

    async def scenario():
        mine = [await socket_of(here, "/ws/me/"), await socket_of(elsewhere, "/ws/availability/")]
        theirs = await socket_of(someone_else, "/ws/me/")
        await settle(layer)
        changed = await sync(here.post)(
            "/password/change/", {"old_password": "pw-123456", "new_password1": new, "new_password2": new}
        )
        assert changed.status_code == 302
        for ws in mine:
            await closed_within(ws, ended_at, "password_changed")
        await still_open(theirs)
        await theirs.disconnect()

    run(scenario)


def test_deactivation_closes_every_socket_of_the_person(world, layer, ended_at):
    here = signed_in_client(world.researcher)

    async def scenario():
        ws = await socket_of(here, "/ws/me/")
        await settle(layer)

        def deactivate():
            world.researcher.is_active = False
            world.researcher.save()

        await sync(deactivate)()
        await closed_within(ws, ended_at, "deactivated")

    run(scenario)


@pytest.fixture
def memory_layer(settings, monkeypatch):
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)
    yield
    channel_layers.backends.clear()


def test_after_sign_out_ws_me_gets_nothing_even_if_the_close_is_lost(world, tomorrow_9, monkeypatch, memory_layer):
    """The close message is at most once (pub/sub); /ws/me/ checks the session on each message as well."""
    monkeypatch.setattr("booking.live.receivers.publish_session_end", lambda **kwargs: None)
    here = signed_in_client(world.researcher)

    async def scenario():
        ws = await socket_of(here, "/ws/me/")
        await sync(here.post)("/logout/")
        await ws.receive_nothing(timeout=0.3)  # the close was lost
        await sync(booking_request)(
            requester=world.researcher,
            instrument=world.instrument,
            start=tomorrow_9,
            end=tomorrow_9 + H,
            purpose="private purpose",
        )
        said = await ws.receive_json_from(timeout=10)
        assert said == {"type": "closed", "reason": "signed_out"}  # not the booking
        assert await ws.receive_output(timeout=10) == {"type": "websocket.close", "code": 4401}

    run(scenario)


def test_a_closed_socket_leaves_its_groups(world, memory_layer, ended_at):
    from channels.layers import get_channel_layer

    here = signed_in_client(world.researcher)

    async def scenario():
        ws = await socket_of(here, "/ws/me/")
        layer = get_channel_layer()
        assert any(g.startswith("live.session.") and m for g, m in layer.groups.items())
        await sync(here.post)("/logout/")
        await closed_within(ws, ended_at, "signed_out")
        assert not any(m for g, m in layer.groups.items())

    run(scenario)


# --- real server processes: the sign-out is a request to one process, the socket lives in another -----


def _sign_out_over_http(base: str, cookie: str) -> float:
    """Sign out as a browser does (the CSRF token from a page, then POST /logout/); returns when the answer
    came (the session ended before it)."""
    import httpx

    with httpx.Client(base_url=base, headers={"Cookie": cookie}, follow_redirects=False, timeout=10) as http:
        page = http.get("/catalog/")  # any page with the sign-out form sets the CSRF cookie
        csrf = page.cookies.get("csrftoken") or http.cookies.get("csrftoken")
        assert csrf, page.status_code
        r = http.post("/logout/", headers={"X-CSRFToken": csrf, "Cookie": f"{cookie}; csrftoken={csrf}"}, data={})
        assert r.status_code == 302, r.status_code
    return time.monotonic()


async def _closed_by(ws, deadline_seconds: float) -> dict:
    import json

    import websockets

    said = json.loads(await asyncio.wait_for(ws.recv(), deadline_seconds))
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), deadline_seconds)
    return {"said": said, "code": ws.close_code}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_make_run_signing_out_closes_the_socket_within_a_second(world):
    """`make run`'s one process: the sign-out runs in a WSGI thread, the socket on the server's loop."""
    import websockets

    from .servers import MakeRunServer

    client = signed_in_client(world.researcher)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    server = MakeRunServer().wait_ready()
    try:

        async def scenario():
            async with websockets.connect(
                server.ws("/ws/me/"), origin=server.origin, additional_headers={"Cookie": cookie}, open_timeout=10
            ) as ws:
                closing = asyncio.ensure_future(_closed_by(ws, 10))
                signed_out = await asyncio.to_thread(_sign_out_over_http, server.http, cookie)
                result = await closing
                took = time.monotonic() - signed_out
            assert result == {"said": {"type": "closed", "reason": "signed_out"}, "code": 4401}
            assert took <= PROMISE_SECONDS, f"closed {took:.2f} s after the sign-out was answered"

            # A foreign port's page cannot open a socket with the cookie.
            with pytest.raises(websockets.InvalidStatus):
                await websockets.connect(
                    server.ws("/ws/me/"), origin="http://127.0.0.1:9999", additional_headers={"Cookie": cookie}
                )

        asyncio.run(scenario())
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.redis
@needs_redis
@pytest.mark.django_db(transaction=True)
def test_with_redis_signing_out_on_gunicorn_closes_the_socket_on_daphne_within_a_second(world):
    """The production shape: the sign-out is answered by gunicorn, the socket is held by daphne; Redis
    carries the close between them."""
    import websockets

    from .test_live_processes import process_env, started

    client = signed_in_client(world.researcher)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    env = process_env(redis=True, LIVE_RESYNC_SECONDS="60")
    daphne = started(env)
    web = started(env, wsgi=True)
    try:

        async def scenario():
            async with websockets.connect(
                daphne.url("/ws/me/"), origin=daphne.origin, additional_headers={"Cookie": cookie}, open_timeout=10
            ) as ws:
                await asyncio.sleep(0.3)  # the pub/sub subscription of the session group is in place
                closing = asyncio.ensure_future(_closed_by(ws, 10))
                signed_out = await asyncio.to_thread(_sign_out_over_http, f"http://127.0.0.1:{web.port}", cookie)
                result = await closing
                took = time.monotonic() - signed_out
            assert result == {"said": {"type": "closed", "reason": "signed_out"}, "code": 4401}
            assert took <= PROMISE_SECONDS, f"closed {took:.2f} s after the sign-out was answered"

        asyncio.run(scenario())
    finally:
        daphne.stop()
        web.stop()
