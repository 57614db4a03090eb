"""Across processes: two real daphne servers sharing Redis. A booking posted over HTTP to server A
reaches a WebSocket client of server B, and a change made by a Celery task in a third process (this
one) reaches it too. Needs REDIS_URL (CI sets it, with PostgreSQL); skipped otherwise."""

import asyncio
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings as django_settings
from rest_framework.authtoken.models import Token

from booking.tasks import expire_stale_requests

pytestmark = [pytest.mark.slow]
needs_redis = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="needs Redis at REDIS_URL to carry changes between processes"
)

H = dt.timedelta(hours=1)
ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    db = django_settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class Server:
    """daphne on a socket bound here to a free 127.0.0.1 port; `timeout` ends it even if pytest dies."""

    def __init__(self, env: dict[str, str]) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        daphne = str(Path(sys.executable).with_name("daphne"))
        self.proc = subprocess.Popen(
            ["timeout", "120", daphne, "--fd", str(self.sock.fileno()), "config.asgi:application"],
            cwd=ROOT, env=env, pass_fds=[self.sock.fileno()],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"daphne exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/api/v1/facilities/", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("daphne did not answer within 40 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.sock.close()


def run_task(task, **kwargs):
    """Run a Celery task body in a thread of its own, as a worker would, closing its connection after."""
    from django.db import connection

    try:
        return task.apply(kwargs=kwargs).get()
    finally:
        connection.close()


@pytest.mark.redis
@needs_redis
@pytest.mark.django_db(transaction=True)
def test_booking_on_server_a_reaches_client_of_server_b(world, tomorrow_9):
    import websockets

    inst = world.instrument
    inst.requires_approval = True
    inst.save()
    token = Token.objects.create(user=world.researcher).key
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_LEVEL": "WARNING",
        "CELERY_TASK_ALWAYS_EAGER": "1",
    }
    servers = [Server(env), Server(env)]
    try:
        for s in servers:
            s.wait_ready()
        a, b = servers

        async def scenario():
            url = f"ws://127.0.0.1:{b.port}/ws/availability/"
            async with websockets.connect(url, origin="http://127.0.0.1", open_timeout=10) as ws:
                window = {"start": tomorrow_9.isoformat(), "end": (tomorrow_9 + 4 * H).isoformat()}
                await ws.send(json.dumps({"type": "subscribe", "instruments": [inst.pk], **window}))
                snap = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert (snap["type"], snap["busy"]) == ("snapshot", [])

                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{a.port}") as http:
                    r = await http.post(
                        "/api/v1/bookings/",
                        json={"instrument": inst.pk, "start": tomorrow_9.isoformat(), "end": (tomorrow_9 + H).isoformat()},
                        headers={"Authorization": f"Token {token}"},
                    )
                assert r.status_code == 201, r.text
                up = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert up["type"] == "update" and up["version"] == snap["version"] + 1
                assert up["busy"] == [{"start": tomorrow_9.isoformat(), "end": (tomorrow_9 + H).isoformat(), "kind": "booking"}]

                # A Celery task running outside both servers (here: this process) rejects the stale
                # request; the change goes through Redis to server B's client as well.
                expired = await asyncio.to_thread(run_task, expire_stale_requests, now=(tomorrow_9 + H).isoformat())
                assert expired == 1
                up = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert (up["version"], up["busy"]) == (snap["version"] + 2, [])

        asyncio.run(scenario())
    finally:
        for s in servers:
            s.stop()


@pytest.mark.skipif(
    django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
    reason="the embedded default is SQLite; the PostgreSQL run covers several servers above",
)
@pytest.mark.django_db(transaction=True)
def test_embedded_default_one_server_in_memory_layer(world, tomorrow_9):
    """`make run`'s shape: one daphne, no Redis. A booking posted over HTTP reaches a socket of the
    same server through the in-memory layer."""
    import websockets

    inst = world.instrument
    token = Token.objects.create(user=world.researcher).key
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update({"DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "WARNING"})
    server = Server(env)
    try:
        server.wait_ready()

        async def scenario():
            async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws/availability/", origin="http://127.0.0.1") as ws:
                await ws.send(json.dumps({"type": "subscribe", "instruments": [inst.pk],
                                          "start": tomorrow_9.isoformat(), "end": (tomorrow_9 + 4 * H).isoformat()}))
                snap = json.loads(await asyncio.wait_for(ws.recv(), 10))
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
                    r = await http.post(
                        "/api/v1/bookings/",
                        json={"instrument": inst.pk, "start": tomorrow_9.isoformat(), "end": (tomorrow_9 + H).isoformat()},
                        headers={"Authorization": f"Token {token}"},
                    )
                assert r.status_code == 201, r.text
                up = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert up == {"type": "update", "instrument": inst.pk, "version": snap["version"] + 1,
                              "busy": [{"start": tomorrow_9.isoformat(), "end": (tomorrow_9 + H).isoformat(), "kind": "booking"}]}

        asyncio.run(scenario())
    finally:
        server.stop()
