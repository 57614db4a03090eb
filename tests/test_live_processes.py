"""Across real processes: `make run`'s server, daphne and gunicorn, and changes made by other processes —
a `manage.py shell` command, a periodic job applied the way beat applies it, a Celery worker.

A change made outside the server reaches its sockets within 1 s of the change: on the embedded default
(no REDIS_URL: in-memory layer, SQLite) through each server's database check, with Redis through
`group_send` from the process that made it. The second is measured from the booking event's timestamp,
which the writing process takes before it commits, so the figure can only overstate the delay.
"""

import asyncio
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from django.conf import settings as django_settings
from django.test import Client

from booking.models import Booking, BookingEvent
from booking.tasks import expire_stale_requests
from common.time import iso_local
from facilities.credentials import create_token

from .factories.booking import BookingFactory
from .servers import MakeRunServer, database_url

pytestmark = [pytest.mark.slow]
needs_redis = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="needs Redis at REDIS_URL to carry changes between processes"
)
on_sqlite = django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
embedded_only = pytest.mark.skipif(not on_sqlite, reason="the embedded default is SQLite; the PostgreSQL run has Redis")

H = dt.timedelta(hours=1)
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PROMISE_SECONDS = 1.0

# What beat does with an entry that is due (celery.beat.Scheduler.apply_entry), for one entry of
# CELERY_BEAT_SCHEDULE with a given `now`: on the embedded default the task runs right here, in this
# process; with a broker it goes to the queue for a worker.
BEAT_ONE_ENTRY = """
import sys
import django
django.setup()
from celery.beat import ScheduleEntry, Scheduler
from django.conf import settings
from config.celery import app
app.loader.init_worker()  # as beat does when it starts: imports the task modules
app.finalize()
name, now = sys.argv[1], sys.argv[2]
entry = ScheduleEntry(name=name, app=app, kwargs={"now": now}, **settings.CELERY_BEAT_SCHEDULE[name])
Scheduler(app, lazy=True).apply_entry(entry)
"""


def process_env(redis: bool, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "LIVE_RESYNC_SECONDS")}
    env.update(
        {
            "DATABASE_URL": database_url(),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "LOG_LEVEL": "WARNING",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }
    )
    if redis:
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    env.update(extra)
    return env


class Server:
    """daphne (or, with wsgi=True, gunicorn) on a socket bound here to a free 127.0.0.1 port; `timeout`
    ends it even if pytest dies."""

    def __init__(self, env: dict[str, str], wsgi: bool = False) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        fd = str(self.sock.fileno())
        command = (
            [str(BIN / "gunicorn"), "--bind", f"fd://{fd}", "--workers", "1", "config.wsgi:application"]
            if wsgi
            else [str(BIN / "daphne"), "--fd", fd, "config.asgi:application"]
        )
        self.proc = subprocess.Popen(
            ["timeout", "180", *command],
            cwd=ROOT,
            env=env,
            pass_fds=[self.sock.fileno()],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
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

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    @property
    def origin(self) -> str:
        """What a page served through this port sends as Origin: sockets accept only their own origin."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.sock.close()


def started(env: dict[str, str], wsgi: bool = False) -> Server:
    server = Server(env, wsgi)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


async def run_elsewhere(env: dict[str, str], *args: str) -> None:
    """A Python process of its own (`manage.py …`, or `-c` code), run to its end."""
    proc = await asyncio.create_subprocess_exec(
        "timeout",
        "120",
        sys.executable,
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-2000:]


def shell(env: dict[str, str], code: str):
    return run_elsewhere(env, "manage.py", "shell", "-c", code)


def beat_applies(env: dict[str, str], entry: str, now: dt.datetime):
    return run_elsewhere(env, "-c", BEAT_ONE_ENTRY, entry, now.isoformat())


async def next_message(ws, timeout: float = 60) -> tuple[dict, float]:
    """The socket's next message and the moment it arrived (wall clock, as the writer's timestamps)."""
    text = await asyncio.wait_for(ws.recv(), timeout)
    return json.loads(text), time.time()


async def while_running(work, ws_messages):
    """Run `work` (another process) while waiting for messages; what the messages coroutine returns. A
    process that fails is reported at once, not as a missing message."""
    job, wait = asyncio.ensure_future(work), asyncio.ensure_future(ws_messages)
    done, _ = await asyncio.wait({job, wait}, return_when=asyncio.FIRST_EXCEPTION)
    if job in done and job.exception() is not None:
        wait.cancel()
        raise job.exception()
    await job
    return await wait


async def read(fn, *args, **kwargs):
    """A database read from the scenario, in a thread whose connection is closed afterwards."""
    from django.db import connection

    def call():
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()

    return await asyncio.to_thread(call)


def change_time(booking_id: int, to_status: str) -> float:
    """When the writing process stamped the change (before its commit)."""
    return BookingEvent.objects.filter(booking_id=booking_id, to_status=to_status).latest("at").at.timestamp()


def subscribe_message(inst, start: dt.datetime, hours: int = 4) -> str:
    return json.dumps(
        {
            "type": "subscribe",
            "instruments": [inst.pk],
            "start": start.isoformat(),
            "end": (start + hours * H).isoformat(),
        }
    )


def two_requests(world, tomorrow_9) -> tuple[Booking, Booking]:
    """Two requests awaiting approval in one window: one to cancel, one for the expiry job to reject."""
    inst = world.instrument
    inst.requires_approval = True
    inst.save()
    make = dict(instrument=inst, requester=world.researcher, institution=world.ustc, status=Booking.Status.REQUESTED)
    return (
        BookingFactory(**make, start=tomorrow_9, end=tomorrow_9 + H),
        BookingFactory(**make, start=tomorrow_9 + 2 * H, end=tomorrow_9 + 3 * H),
    )


def cancel_code(world, booking: Booking) -> str:
    return (
        "from booking.services import booking_cancel; from facilities.models import User; "
        f"booking_cancel(actor=User.objects.get(pk={world.researcher.pk}), booking_id={booking.pk})"
    )


def busy_of(*bookings: Booking) -> list[dict]:
    return [{"start": iso_local(b.start), "end": iso_local(b.hold_end), "kind": "booking"} for b in bookings]


# --- the embedded default: make run's one server, in-memory layer, SQLite -------------------------------


@embedded_only
@pytest.mark.django_db(transaction=True)
def test_embedded_default_shell_and_beat_changes_reach_sockets_within_a_second(world, tomorrow_9):
    """`make run`'s shape: its server without Redis, beat and a shell as processes of their own. Their
    changes reach an open calendar through the server's database check (LIVE_RESYNC_SECONDS left at
    its default)."""
    import websockets

    inst = world.instrument
    to_cancel, to_expire = two_requests(world, tomorrow_9)
    env = process_env(redis=False)
    server = MakeRunServer(env).wait_ready()
    try:

        async def scenario():
            async with websockets.connect(server.ws("/ws/availability/"), origin=server.origin) as ws:
                await ws.send(subscribe_message(inst, tomorrow_9))
                snap, _ = await next_message(ws, 10)
                assert snap["busy"] == busy_of(to_cancel, to_expire)

                up, at = await while_running(shell(env, cancel_code(world, to_cancel)), next_message(ws))
                assert (up["type"], up["version"], up["busy"]) == ("update", snap["version"] + 1, busy_of(to_expire))
                cancelled = await read(change_time, to_cancel.pk, Booking.Status.CANCELLED)
                assert at - cancelled <= PROMISE_SECONDS, f"the shell's cancel took {at - cancelled:.2f} s"

                job = beat_applies(env, "expire-unapproved-requests", tomorrow_9 + 3 * H)
                up, at = await while_running(job, next_message(ws))
                assert (up["version"], up["busy"]) == (snap["version"] + 2, [])
                expired = await read(change_time, to_expire.pk, Booking.Status.REJECTED)
                assert at - expired <= PROMISE_SECONDS, f"beat's expiry took {at - expired:.2f} s"

        asyncio.run(scenario())
    finally:
        server.stop()


@embedded_only
@pytest.mark.django_db(transaction=True)
def test_embedded_default_change_over_http_reaches_a_socket_of_the_same_server(world, tomorrow_9):
    """A booking posted to the server reaches its sockets through the in-memory layer."""
    import websockets

    inst = world.instrument
    token = create_token(user=world.researcher, name="test")[1]
    # A database check far slower than the test: only the layer can deliver in time.
    server = MakeRunServer(process_env(redis=False, LIVE_RESYNC_SECONDS="60")).wait_ready()
    try:

        async def scenario():
            async with websockets.connect(server.ws("/ws/availability/"), origin=server.origin) as ws:
                await ws.send(subscribe_message(inst, tomorrow_9))
                snap, _ = await next_message(ws, 10)
                async with httpx.AsyncClient(base_url=server.http) as http:
                    r = await http.post(
                        "/api/v1/bookings/",
                        json={
                            "instrument": inst.pk,
                            "start": tomorrow_9.isoformat(),
                            "end": (tomorrow_9 + H).isoformat(),
                        },
                        headers={"Authorization": f"Token {token}"},
                    )
                assert r.status_code == 201, r.text
                up, _ = await next_message(ws, 10)
                assert up == {
                    "type": "update",
                    "instrument": inst.pk,
                    "version": snap["version"] + 1,
                    "busy": [{"start": tomorrow_9.isoformat(), "end": (tomorrow_9 + H).isoformat(), "kind": "booking"}],
                }

        asyncio.run(scenario())
    finally:
        server.stop()


# --- with Redis: group_send from any process -----------------------------------------------------------


@pytest.fixture
def worker_queue():
    """A Celery queue of this test's own, emptied afterwards, so no other worker takes its tasks."""
    import redis

    queue = f"test-live-{uuid.uuid4().hex[:8]}"
    yield queue
    redis.Redis.from_url(os.environ["REDIS_URL"]).delete(queue)


@pytest.mark.redis
@needs_redis
@pytest.mark.django_db(transaction=True)
def test_with_redis_changes_from_every_process_reach_sockets_within_a_second(world, tomorrow_9, worker_queue):
    """The production shape: daphne for /ws/, gunicorn for HTTP, a Celery worker, beat and a shell as
    processes of their own sharing Redis. A booking made over WSGI, a cancel from a shell and an expiry
    applied by beat and run by the worker reach an open calendar and the requester's page through the
    channel layer (the database check is set far slower than 1 s)."""
    import websockets

    inst = world.instrument
    to_cancel, to_expire = two_requests(world, tomorrow_9)
    token = create_token(user=world.researcher, name="test")[1]
    client = Client()
    client.force_login(world.researcher)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    env = process_env(redis=True, CELERY_TASK_DEFAULT_QUEUE=worker_queue, CELERY_TASK_ALWAYS_EAGER="0")
    servers: list[Server] = []
    worker = subprocess.Popen(
        [
            "timeout",
            "180",
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            worker_queue,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        servers.append(server := started({**env, "LIVE_RESYNC_SECONDS": "60"}))
        servers.append(web := started(env, wsgi=True))

        async def scenario():
            async with (
                websockets.connect(server.url("/ws/availability/"), origin=server.origin) as calendar,
                websockets.connect(
                    server.url("/ws/me/"), origin=server.origin, additional_headers={"Cookie": cookie}
                ) as mine,
            ):
                await calendar.send(subscribe_message(inst, tomorrow_9, hours=6))
                snap, _ = await next_message(calendar, 10)
                assert snap["busy"] == busy_of(to_cancel, to_expire)

                async def both():
                    return await next_message(calendar), await next_message(mine)

                async def post_booking():
                    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web.port}") as http:
                        start = tomorrow_9 + 4 * H
                        r = await http.post(
                            "/api/v1/bookings/",
                            headers={"Authorization": f"Token {token}"},
                            json={"instrument": inst.pk, "start": start.isoformat(), "end": (start + H).isoformat()},
                        )
                    assert r.status_code == 201, r.text
                    return r.json()["id"]

                (up, at), (event, event_at) = await while_running(post_booking(), both())
                booked = await read(Booking.objects.get, pk=event["booking"]["id"])
                assert (up["version"], up["busy"]) == (snap["version"] + 1, busy_of(to_cancel, to_expire, booked))
                assert event["event"] == "requested"
                requested = await read(change_time, booked.pk, Booking.Status.REQUESTED)
                took = max(at, event_at) - requested
                assert took <= PROMISE_SECONDS, f"the WSGI booking took {took:.2f} s"
                snap["version"] += 1

                (up, at), (event, event_at) = await while_running(shell(env, cancel_code(world, to_cancel)), both())
                assert (up["version"], up["busy"]) == (snap["version"] + 1, busy_of(to_expire, booked))
                assert (event["event"], event["booking"]["id"], event["booking"]["status"]) == (
                    "cancelled",
                    to_cancel.pk,
                    "cancelled",
                )
                cancelled = await read(change_time, to_cancel.pk, Booking.Status.CANCELLED)
                took = max(at, event_at) - cancelled
                assert took <= PROMISE_SECONDS, f"the shell's cancel took {took:.2f} s"

                job = beat_applies(env, "expire-unapproved-requests", tomorrow_9 + 3 * H)
                (up, at), (event, event_at) = await while_running(job, both())
                assert (up["version"], up["busy"]) == (snap["version"] + 2, busy_of(booked))
                assert (event["event"], event["booking"]["id"]) == ("rejected", to_expire.pk)
                expired = await read(change_time, to_expire.pk, Booking.Status.REJECTED)
                took = max(at, event_at) - expired
                assert took <= PROMISE_SECONDS, f"the worker's expiry took {took:.2f} s"

        asyncio.run(scenario())
    finally:
        worker.terminate()
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()
        for s in servers:
            s.stop()


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
    token = create_token(user=world.researcher, name="test")[1]
    env = process_env(redis=True, CELERY_TASK_ALWAYS_EAGER="1", LIVE_RESYNC_SECONDS="60")
    servers = []
    try:
        servers += [started(env), started(env)]
        a, b = servers

        async def scenario():
            async with websockets.connect(b.url("/ws/availability/"), origin=b.origin, open_timeout=10) as ws:
                await ws.send(subscribe_message(inst, tomorrow_9))
                snap, _ = await next_message(ws, 10)
                assert (snap["type"], snap["busy"]) == ("snapshot", [])

                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{a.port}") as http:
                    r = await http.post(
                        "/api/v1/bookings/",
                        json={
                            "instrument": inst.pk,
                            "start": tomorrow_9.isoformat(),
                            "end": (tomorrow_9 + H).isoformat(),
                        },
                        headers={"Authorization": f"Token {token}"},
                    )
                assert r.status_code == 201, r.text
                up, _ = await next_message(ws, 10)
                assert up["type"] == "update" and up["version"] == snap["version"] + 1
                assert up["busy"] == [
                    {"start": tomorrow_9.isoformat(), "end": (tomorrow_9 + H).isoformat(), "kind": "booking"}
                ]

                # A Celery task running outside both servers (here: this process) rejects the stale
                # request; the change goes through Redis to server B's client as well.
                expired = await asyncio.to_thread(run_task, expire_stale_requests, now=(tomorrow_9 + H).isoformat())
                assert expired == 1
                up, _ = await next_message(ws, 10)
                assert (up["version"], up["busy"]) == (snap["version"] + 2, [])

        asyncio.run(scenario())
    finally:
        for s in servers:
            s.stop()
