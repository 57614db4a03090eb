"""Live availability fan-out: Sanjiao's /ws/availability/ against a bare `websockets` broadcast server.

    .venv/bin/python benchmarks/live.py [--clients 1000 5000] [--changes 20] [--redis redis://127.0.0.1:6379/0]

For each client count, in one run:
- Sanjiao: one daphne process on the Redis pub/sub layer and a scratch SQLite database. This process
  books and cancels a slot inside every client's window through the booking services (as a Celery
  worker would); each commit is announced once through Redis, and daphne's hub reads the busy list
  once and fans it out.
- Floor: a bare `websockets` server subscribed to a Redis channel; this process PUBLISHes the same update
  text there and the server broadcasts it (`websockets.broadcast`) to its clients.
Both are measured from the moment the change is handed over (Sanjiao: the commit; floor: the PUBLISH) to
its receipt by each client, with the clients in one separate process. Reported: p50/p99 latency, lost
and out-of-order versions, server memory per connection (RSS growth / clients), the p99 ratio, and
what a change costs the writing process (median time per change, with and without live publishing).
Servers bind 127.0.0.1 on free ports and are stopped at the end (and by `timeout` if this dies).
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
FLOOR_CHANNEL = "bench-live-floor"

# --- the clients (run as a separate process: `live.py clients URL N SUBSCRIBE_JSON`) -------------------


async def client_main(url: str, count: int, subscribe: str) -> None:
    import websockets

    received: list[list[tuple[int, float]]] = [[] for _ in range(count)]
    ready = asyncio.Event()
    remaining = [count]
    stop = asyncio.Event()

    async def one(i: int) -> None:
        async with websockets.connect(
            url,
            origin=url.replace("ws://", "http://", 1).split("/ws/")[0],
            open_timeout=120,
            ping_interval=None,
            max_queue=None,
            compression=None,
        ) as ws:
            await ws.send(subscribe)
            await ws.recv()  # the snapshot
            remaining[0] -= 1
            if remaining[0] == 0:
                ready.set()
            log = received[i]
            while True:
                recv = asyncio.ensure_future(ws.recv())
                done, _ = await asyncio.wait(
                    {recv, asyncio.ensure_future(stop.wait())}, return_when=asyncio.FIRST_COMPLETED
                )
                if recv not in done:
                    recv.cancel()
                    return
                text = recv.result()
                at = time.time()
                k = text.find('"version":') + 10
                log.append((int(text[k : text.index(",", k)]), at))

    tasks = []
    for start in range(0, count, 200):  # connect in batches: a burst of thousands only measures the backlog
        batch = [asyncio.ensure_future(one(i)) for i in range(start, min(start + 200, count))]
        tasks += batch
        while remaining[0] > count - min(start + 200, count):
            await asyncio.sleep(0.05)
            for t in batch:
                if t.done() and t.exception():
                    raise t.exception()
    await ready.wait()
    print("READY", flush=True)
    # The driver writes the last version it made; wait until every socket has it (at most 60 s: a
    # version missing after that counts as lost, even if the resync would bring a newer one later).
    last = int(await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(not log or log[-1][0] < last for log in received):
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(received), flush=True)


# --- the floor server (`live.py floor FD REDIS_URL`) ----------------------------------------------------


async def floor_main(fd: int, redis_url: str) -> None:
    import redis.asyncio as aioredis
    from websockets.asyncio.server import broadcast, serve

    clients = set()

    async def handler(ws):
        await ws.recv()  # the subscribe message
        await ws.send('{"type":"snapshot","instrument":0,"version":0,"busy":[]}')
        clients.add(ws)
        try:
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    sock = socket.socket(fileno=fd)
    async with serve(handler, sock=sock, compression=None, ping_interval=None, max_queue=None):
        r = aioredis.from_url(redis_url)
        pubsub = r.pubsub()
        await pubsub.subscribe(FLOOR_CHANNEL)
        async for message in pubsub.listen():
            if message["type"] == "message":
                broadcast(clients, message["data"].decode())


# --- the driver -----------------------------------------------------------------------------------------


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def child_pid(proc: subprocess.Popen) -> int:
    """The server under `timeout`: its only child."""
    for _ in range(100):
        kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        if kids:
            return int(kids[0])
        time.sleep(0.05)
    return proc.pid


STARTED: list[subprocess.Popen] = []


def stop_server(proc: subprocess.Popen) -> None:
    """`timeout` passes SIGTERM on to the server; a server that does not stop in 20 s is killed."""
    child = child_pid(proc) if proc.poll() is None else None
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        if child:
            try:
                os.kill(child, 9)
            except ProcessLookupError:
                pass
        proc.kill()
        proc.wait(5)


def bound_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    return sock


def wait_port(port: int, path: str = "/") -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server on {port} did not come up")


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def summarize(received: list[list[tuple[int, float]]], sent: dict[int, float]) -> dict:
    latencies, lost, disorder = [], 0, 0
    for log in received:
        versions = [v for v, _ in log]
        disorder += sum(1 for a, b in pairwise(versions) if b <= a)
        lost += len(set(sent) - set(versions))
        latencies += [(at - sent[v]) * 1000 for v, at in log if v in sent]
    return {
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "lost": lost,
        "out_of_order": disorder,
        "messages": len(latencies),
    }


def start_clients(url: str, count: int, subscribe: dict) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, __file__, "clients", url, str(count), json.dumps(subscribe)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    line = proc.stdout.readline()
    if line.strip() != "READY":
        raise SystemExit(f"clients failed: {line!r}")
    return proc


def finish_clients(proc: subprocess.Popen, last_version: int) -> list:
    proc.stdin.write(f"{last_version}\n")
    proc.stdin.flush()
    out = proc.stdout.readline()
    proc.wait(120)
    return json.loads(out)


def run(counts: list[int], changes: int, redis_url: str, gap: float, writer_changes: int) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="sanjiao-bench-live-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "REDIS_URL": redis_url,
            "SANJIAO_VAR_DIR": str(scratch),
            "DATABASE_URL": f"sqlite:///{scratch / 'bench.sqlite3'}",
            "LOG_LEVEL": "WARNING",
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import datetime as dt

    import redis
    from django.core.management import call_command
    from django.utils import timezone

    from booking.live.state import clip, message_text, render_busy, to_us, wide_state
    from booking.services import booking_cancel, booking_request
    from facilities.models import Facility, FundingAccount, Institution, Instrument, Membership, User
    from facilities.models.tenants import Role

    call_command("migrate", verbosity=0)
    host = Institution.objects.create(code="BENCH", name="Bench", kind="university", province="anhui", city="Hefei")
    facility = Facility.objects.create(
        code="BF",
        name="Bench facility",
        province="anhui",
        city="Hefei",
        host=host,
        category="light_source",
        status="operating",
    )
    inst = Instrument.objects.create(
        facility=facility,
        code="BI",
        name="Bench instrument",
        category="beamline",
        booking_unit_minutes=60,
        min_minutes=60,
        max_minutes=1440,
        lead_time_minutes=0,
        horizon_days=90,
        buffer_minutes=0,
        requires_approval=False,
    )
    user = User.objects.create(username="bench")
    Membership.objects.create(user=user, institution=host, role=Role.RESEARCHER)
    account = FundingAccount.objects.create(
        code="B-1",
        title="Bench grant",
        institution=host,
        principal_investigator=user,
        valid_from=dt.date(2020, 1, 1),
        valid_until=dt.date(2099, 12, 31),
    )
    user.default_account = account
    user.save()
    day = (timezone.localtime() + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    window = (day, day + dt.timedelta(days=7))
    subscribe = {
        "type": "subscribe",
        "instruments": [inst.pk],
        "start": window[0].isoformat(),
        "end": window[1].isoformat(),
    }
    r = redis.Redis.from_url(redis_url)
    env = dict(os.environ)

    # The moment of commit: a receiver put ahead of the live publisher on the after-commit signal.
    from facilities.signals import availability_changed

    committed_at: dict[int, float] = {}

    def stamp(sender, instrument_id, version, **kwargs):
        committed_at[version] = time.time()

    availability_changed.connect(stamp, dispatch_uid="bench.stamp")
    availability_changed.receivers.insert(0, availability_changed.receivers.pop())
    availability_changed.sender_receivers_cache.clear()
    rows = []

    def change(booking, k: int):
        """Book a slot in the window, or cancel the last one: one committed change either way."""
        if booking is None:
            start = day + dt.timedelta(hours=9 + k % 8)
            return booking_request(requester=user, instrument=inst, start=start, end=start + dt.timedelta(hours=1))
        booking_cancel(actor=user, booking_id=booking.pk)
        return None

    def writer_ms(n: int) -> float:
        """Median time the writing process spends per change: the write, its commit and its publishing."""
        times, booking = [], None
        for k in range(n):
            t0 = time.perf_counter()
            booking = change(booking, k)
            times.append((time.perf_counter() - t0) * 1000)
        if booking is not None:
            booking_cancel(actor=user, booking_id=booking.pk)
        return percentile(times, 50)

    # What a change costs the process that makes it, before any server runs (nobody watches): with the
    # live receivers disconnected, then publishing as a shell or beat does (async_to_sync), then as a
    # WSGI or Celery worker does (one event loop of the process), which this driver does from here on.
    from booking.live import receivers
    from booking.live.publish import publish_from_own_loop
    from booking.signals import booking_changed

    writer_ms(10)  # warm up
    availability_changed.disconnect(dispatch_uid="live.publish_availability")
    booking_changed.disconnect(dispatch_uid="live.publish_booking")
    silent = writer_ms(writer_changes)
    availability_changed.connect(receivers._publish_availability, dispatch_uid="live.publish_availability")
    booking_changed.connect(receivers._publish_booking, dispatch_uid="live.publish_booking")
    unwatched_new_loops = writer_ms(writer_changes)
    publish_from_own_loop()
    unwatched = writer_ms(writer_changes)
    watched_times: list[float] = []

    for count in counts:
        # --- Sanjiao ---
        sock = bound_socket()
        server = subprocess.Popen(
            [
                "timeout",
                "1800",
                str(VENV_BIN / "daphne"),
                "--fd",
                str(sock.fileno()),
                "--ping-interval",
                "600",
                "-v",
                "0",
                "--websocket_connect_timeout",
                "120",
                "config.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            pass_fds=[sock.fileno()],
        )
        STARTED.append(server)
        wait_port(sock.getsockname()[1])
        time.sleep(3)
        pid = child_pid(server)
        base = rss_kb(pid)
        clients = start_clients(f"ws://127.0.0.1:{sock.getsockname()[1]}/ws/availability/", count, subscribe)
        time.sleep(1)
        per_conn = (rss_kb(pid) - base) / count
        sent: dict[int, float] = {}
        floor_texts: list[str] = []
        booking = None
        for k in range(changes):
            t0 = time.perf_counter()
            booking = change(booking, k)
            watched_times.append((time.perf_counter() - t0) * 1000)
            version = Instrument.objects.get(pk=inst.pk).availability_version
            sent[version] = committed_at[version]
            state = wide_state(inst.pk)
            floor_texts.append(
                message_text("update", inst.pk, version, render_busy(clip(state, to_us(window[0]), to_us(window[1]))))
            )
            time.sleep(gap)
        ours = summarize(finish_clients(clients, max(sent)), sent)
        ours["kb_per_conn"] = per_conn
        stop_server(server)
        sock.close()

        # --- floor ---
        sock = bound_socket()
        server = subprocess.Popen(
            ["timeout", "1800", sys.executable, __file__, "floor", str(sock.fileno()), redis_url],
            cwd=ROOT,
            env=env,
            pass_fds=[sock.fileno()],
        )
        STARTED.append(server)
        wait_port(sock.getsockname()[1])
        time.sleep(2)
        pid = child_pid(server)
        base = rss_kb(pid)
        clients = start_clients(f"ws://127.0.0.1:{sock.getsockname()[1]}/", count, subscribe)
        time.sleep(1)
        per_conn = (rss_kb(pid) - base) / count
        sent = {}
        for text in floor_texts:
            k = text.find('"version":') + 10
            version = int(text[k : text.index(",", k)])
            sent[version] = time.time()
            r.publish(FLOOR_CHANNEL, text)
            time.sleep(gap)
        floor = summarize(finish_clients(clients, max(sent)), sent)
        floor["kb_per_conn"] = per_conn
        stop_server(server)
        sock.close()
        size = len(floor_texts[0]) if floor_texts else 0
        rows.append((count, ours, floor, size))
        print(f"{count} clients: sanjiao {ours}  floor {floor}", flush=True)

    print(f"\n{changes} changes per run, {gap:.2f} s apart; update message about {rows[0][3] if rows else 0} bytes\n")
    print("| clients | server | p50 ms | p99 ms | lost | out of order | KB per connection |")
    print("|---|---|---|---|---|---|---|")
    for count, ours, floor, _ in rows:
        for name, m in (("Sanjiao (daphne + hub)", ours), ("floor (bare websockets)", floor)):
            print(
                f"| {count} | {name} | {m['p50']:.1f} | {m['p99']:.1f} | {m['lost']} | {m['out_of_order']} "
                f"| {m['kb_per_conn']:.1f} |"
            )
    print(
        f"\nwriter's time per change (median of {writer_changes}): {silent:.2f} ms without live publishing; "
        f"published with nobody watching: {unwatched_new_loops:.2f} ms through async_to_sync (a shell, beat), "
        f"{unwatched:.2f} ms through the process's own loop (WSGI, Celery worker); "
        f"{percentile(watched_times, 50):.2f} ms published while watched (own loop, median of {len(watched_times)})"
    )
    for count, ours, floor, _ in rows:
        print(f"p99 ratio at {count} clients: {ours['p99'] / floor['p99']:.2f}x the floor")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "clients":
        asyncio.run(client_main(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "floor":
        asyncio.run(floor_main(int(sys.argv[2]), sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between changes")
    parser.add_argument("--writer-changes", type=int, default=200, help="changes timed for the writer's cost")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    try:
        run(args.clients, args.changes, args.redis, args.gap, args.writer_changes)
    finally:
        for proc in STARTED:
            if proc.poll() is None:
                stop_server(proc)


if __name__ == "__main__":
    main()
