"""Booking under load, measured over HTTP for both ways the platform is served.

    .venv/bin/python benchmarks/booking.py [--serving production make-run] [--seconds 20] [--clients 32]

- production: gunicorn (config.wsgi, 2 sync workers) on PostgreSQL + Redis, as the Procfile's `web`
  line runs it (persistent connections with prepared statements). Needs PostgreSQL at 127.0.0.1:5432
  (user postgres) and Redis at 127.0.0.1:6379; the script creates its own database
  (sanjiao_bench_<pid>) and uses Redis db 14, and drops / empties both at the end.
- make-run: `make run`'s server (`python -m config.serve`, the command the Makefile runs) on a
  throw-away SQLite file, no Redis, exactly the embedded default.

Each serving runs in a child process of its own (Django's settings are per process): seed 32
researchers with tokens, 500 instruments (4 bookings each in the next 14 days), one instrument with
10,000 bookings over two years; start the server on a free 127.0.0.1 port; then measure, printing each
figure beside its target:

1. SQL statements of one created booking and of one refusal (409), counted in-process with
   CaptureQueriesContext through the whole request (middleware, DRF, service, after-commit work);
2. one created booking and one refusal on the idle server (sequential requests, p50);
3. 30 users racing for one slot (all 30 requests sent at once), three times: bookings that land;
4. 32 clients creating non-overlapping 1-hour bookings on random instruments of the 500 for 20 s:
   created per second, p50/p99 of every request;
5. availability of the busy instrument over 90 days, and the joint search over the 500 instruments
   for 14 days (sequential, p50).

Every request goes to 127.0.0.1 only, a new connection each (as a browser behind no proxy would), and
every loop is bounded in time; the server is stopped and the data dropped whatever happens.
"""

import argparse
import asyncio
import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432"
REDIS_DB = 14
SERVINGS = ("production", "make-run")
RACERS = 30
RACES = 3
IDLE_SAMPLES = 40

TARGETS = {
    "created_per_s": 100,  # production only, with p99 below
    "p99_ms": 500,
    "idle_created_ms": 25,
    "idle_refused_ms": 10,
    "starvation": 3,  # make run: p99 at most this many times p50
    "availability_ms": 15,
    "search_ms": 150,
}


# --- HTTP on loopback ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def http(
    port: int,
    method: str,
    target: str,
    headers: dict | None = None,
    body: bytes = b"",
    gate: asyncio.Event | None = None,
) -> tuple[int, float]:
    """One request on a new connection: (status, seconds from sending to the end of the answer).
    With `gate`, connect first and send only once the gate opens (for races)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if gate is not None:
        await gate.wait()
    began = time.perf_counter()
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 60)
    took = time.perf_counter() - began
    writer.close()
    return int(data[9:12]), took


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


# --- the data ------------------------------------------------------------------------------------------


def seed(clients: int):
    """Researchers with tokens and accounts, 500 instruments with a few bookings each, one busy instrument."""
    from django.utils import timezone

    from booking.models import Booking, BookingSplit
    from facilities.credentials import create_token
    from facilities.models import Facility, FundingAccount, Institution, Instrument, Membership, User
    from facilities.models.tenants import Role

    ustc = Institution.objects.create(code="USTC", name="USTC", kind="university")
    sari = Institution.objects.create(code="SARI", name="SARI", kind="institute")
    facilities = [
        Facility.objects.create(
            code=f"BENCH{i}",
            name=f"Bench {i}",
            province="shanghai",
            city="Shanghai",
            host=sari,
            category="light_source",
        )
        for i in range(10)
    ]
    tokens = []
    for i in range(max(clients, RACERS)):
        user = User.objects.create_user(username=f"bench{i}", password="x")
        Membership.objects.create(user=user, institution=ustc, role=Role.RESEARCHER)
        account = FundingAccount.objects.create(
            code=f"G{i}",
            title="grant",
            institution=ustc,
            principal_investigator=user,
            valid_from=dt.date(2020, 1, 1),
            valid_until=dt.date(2099, 1, 1),
        )
        user.default_account = account
        user.save(update_fields=["default_account"])
        tokens.append(create_token(user=user, name="benchmark")[1])

    def instrument(facility, code):
        return Instrument(
            facility=facility,
            code=code,
            name=code,
            booking_unit_minutes=60,
            min_minutes=60,
            max_minutes=480,
            horizon_days=800,
        )

    busy = Instrument.objects.bulk_create([instrument(facilities[1], "BUSY")])[0]
    many = Instrument.objects.bulk_create([instrument(facilities[i % 10], f"S{i}") for i in range(500)])
    day0 = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    requester = User.objects.get(username="bench0")
    rows = []
    # 10,000 bookings on one instrument, about 14 a day for two years: a 90-day window holds ~1,250.
    for n in range(10_000):
        start = day0 + dt.timedelta(hours=n * 730 * 24 // 10_000)
        rows.append(
            Booking(
                instrument=busy,
                requester=requester,
                institution=ustc,
                start=start,
                end=start + dt.timedelta(hours=1),
                hold_end=start + dt.timedelta(hours=1),
                status="approved",
            )
        )
    rng = random.Random(7)
    for inst in many:  # a few bookings each in the next 14 days, so the joint search has something to step around
        for day in rng.sample(range(14), 4):  # distinct days: never overlapping
            start = day0 + dt.timedelta(days=day, hours=rng.randrange(24))
            rows.append(
                Booking(
                    instrument=inst,
                    requester=requester,
                    institution=ustc,
                    start=start,
                    end=start + dt.timedelta(hours=1),
                    hold_end=start + dt.timedelta(hours=1),
                    status="approved",
                )
            )
    created = Booking.objects.bulk_create(rows, batch_size=2000)
    account = FundingAccount.objects.get(code="G0")
    BookingSplit.objects.bulk_create(
        [BookingSplit(booking=b, account=account, percent=100) for b in created], batch_size=5000
    )
    return tokens, busy, many, day0


class Slots:
    """Hands out 1-hour slots that no other request of the run asks for: per instrument, every second
    hour from 20 days ahead (past the seeded fortnight), so the load meets no held time."""

    def __init__(self, instruments, day0: dt.datetime, seed: int) -> None:
        self.ids = [i.pk for i in instruments]
        self.first = day0 + dt.timedelta(days=20)
        self.used: dict[int, int] = {}
        self.rng = random.Random(seed)

    def take(self) -> tuple[int, dt.datetime]:
        pk = self.rng.choice(self.ids)
        n = self.used.get(pk, 0)
        self.used[pk] = n + 1
        return pk, self.first + dt.timedelta(hours=2 * n)


def booking_body(instrument: int, start: dt.datetime) -> bytes:
    end = start + dt.timedelta(hours=1)
    return f'{{"instrument": {instrument}, "start": "{start.isoformat()}", "end": "{end.isoformat()}"}}'.encode()


def auth(token: str) -> dict:
    return {"Authorization": f"Token {token}", "Content-Type": "application/json"}


# --- the measurements ----------------------------------------------------------------------------------


def statements(tokens, slots: Slots) -> tuple[int, int]:
    """SQL statements of one created booking and of one refusal of the same slot, counted in this
    process through Django's full request path (the test client runs every middleware)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {tokens[0]}")
    counts = []
    for expected in (201, 409):
        if expected == 201:
            body = booking_body(*slots.take())
        with CaptureQueriesContext(connection) as ctx:
            response = client.post("/api/v1/bookings/", body, content_type="application/json")
        assert response.status_code == expected, (response.status_code, response.content[:300])
        counts.append(len(ctx.captured_queries))
    connection.close()
    return counts[0], counts[1]


def idle(port: int, tokens, slots: Slots) -> tuple[float, float]:
    """p50 of a created booking and of a refusal, one request at a time."""

    async def run():
        created, refused = [], []
        for i in range(IDLE_SAMPLES):
            body = booking_body(*slots.take())
            status, took = await http(port, "POST", "/api/v1/bookings/", auth(tokens[i % len(tokens)]), body)
            assert status == 201, status
            created.append(took)
        held = body
        for i in range(IDLE_SAMPLES):
            status, took = await http(port, "POST", "/api/v1/bookings/", auth(tokens[(i + 1) % len(tokens)]), held)
            assert status == 409, status
            refused.append(took)
        return created, refused

    created, refused = asyncio.run(run())
    return pct(created, 0.5), pct(refused, 0.5)


def race(port: int, tokens, slots: Slots) -> tuple[list[int], list[dict]]:
    """RACERS users POST the same slot at the same moment: how many get a 201, what the others got,
    and how many held bookings the database has there afterwards."""
    from booking.models import Booking

    landed, answers = [], []
    for _ in range(RACES):
        instrument, start = slots.take()
        body = booking_body(instrument, start)

        async def run(body: bytes):
            gate = asyncio.Event()
            tasks = [
                asyncio.create_task(http(port, "POST", "/api/v1/bookings/", auth(tokens[i]), body, gate=gate))
                for i in range(RACERS)
            ]
            await asyncio.sleep(0.5)  # every connection open and waiting at the gate
            gate.set()
            return [status for status, _ in await asyncio.gather(*tasks)]

        statuses = asyncio.run(run(body))
        held = Booking.objects.filter(
            instrument_id=instrument, start=start, status__in=["requested", "approved"]
        ).count()
        landed.append(held)
        answers.append({s: statuses.count(s) for s in sorted(set(statuses))})
    return landed, answers


def load(port: int, tokens, slots: Slots, clients: int, seconds: float) -> dict:
    """`clients` loops, each POSTing a fresh slot as soon as its previous answer arrives, for `seconds`."""
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def loop(i: int) -> None:
        while time.perf_counter() < deadline:
            status, took = await http(port, "POST", "/api/v1/bookings/", auth(tokens[i]), booking_body(*slots.take()))
            statuses[status] = statuses.get(status, 0) + 1
            latencies.append(took)

    async def run():
        await asyncio.gather(*(loop(i) for i in range(clients)))

    began = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - began
    return {
        "requests": len(latencies),
        "elapsed": elapsed,
        "statuses": statuses,
        "created_per_s": statuses.get(201, 0) / elapsed,
        "p50_ms": pct(latencies, 0.5),
        "p99_ms": pct(latencies, 0.99),
    }


def sequential(port: int, target: str, samples: int) -> float:
    async def run():
        out = []
        for _ in range(samples):
            status, took = await http(port, "GET", target)
            assert status == 200, (status, target[:80])
            out.append(took)
        return out

    return pct(asyncio.run(run()), 0.5)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+", "%2B")


# --- one serving, in a child process --------------------------------------------------------------------


def server_command(serving: str, port: int, workers: int) -> list[str]:
    if serving == "production":
        return [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi:application",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--limit-request-line",
            "8190",
            "--log-level",
            "warning",
        ]
    return [sys.executable, "-m", "config.serve", "--host", "127.0.0.1", "--port", str(port)]


def wait_until_up(server: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited before answering")
        try:
            if asyncio.run(http(port, "GET", "/api/v1/facilities/"))[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer within 60 s")


def run_serving(serving: str, args) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    tokens, busy, many, day0 = seed(args.clients)
    with connection.cursor() as cursor:  # planner statistics, as a live database has them
        cursor.execute("ANALYZE")
    connections.close_all()
    print(
        f"  seeded in {time.perf_counter() - began:.0f} s: {len(tokens)} researchers, 500 instruments, "
        f"10,000 bookings on one more"
    )
    slots = Slots(many, day0, seed=1)
    created_sql, refused_sql = statements(tokens, slots)
    eager = "; tasks run in the request here, mail included" if serving == "make-run" else ""
    print(f"  SQL statements: {created_sql} per created booking, {refused_sql} per refusal (in-process{eager})")

    port = free_port()
    log = open(Path(os.environ["SANJIAO_VAR_DIR"]) / "server.log", "wb")
    server = subprocess.Popen(
        server_command(serving, port, args.workers),
        cwd=ROOT,
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(server, port)
        shown = [Path(a).name if a.startswith("/") else a for a in server_command(serving, port, args.workers)]
        print(f"  server: {' '.join(shown)}")
        created_ms, refused_ms = idle(port, tokens, slots)
        print(
            f"  idle server, one request at a time ({IDLE_SAMPLES} each), p50: created {created_ms:.1f} ms "
            f"(target <= {TARGETS['idle_created_ms']}: {verdict(created_ms <= TARGETS['idle_created_ms'])}), "
            f"refused {refused_ms:.1f} ms (target <= {TARGETS['idle_refused_ms']}: "
            f"{verdict(refused_ms <= TARGETS['idle_refused_ms'])})"
        )
        landed, answers = race(port, tokens, slots)
        print(
            f"  {RACERS} users racing one slot, {RACES} races: bookings that landed {landed} (target 1 each: "
            f"{verdict(all(n == 1 for n in landed))}); answers {answers}"
        )
        result = load(port, tokens, slots, args.clients, args.seconds)
        ratio = result["p99_ms"] / result["p50_ms"]
        print(
            f"  {args.clients} clients creating non-overlapping 1-hour bookings on random instruments of 500 for "
            f"{args.seconds:.0f} s: {result['created_per_s']:.0f} created/s, p50 {result['p50_ms']:.0f} ms, "
            f"p99 {result['p99_ms']:.0f} ms (p99/p50 {ratio:.1f}); answers {result['statuses']}"
        )
        if serving == "production":
            ok = result["created_per_s"] >= TARGETS["created_per_s"] and result["p99_ms"] <= TARGETS["p99_ms"]
            print(
                f"    target >= {TARGETS['created_per_s']} created/s with p99 <= {TARGETS['p99_ms']} ms: {verdict(ok)}"
            )
        else:
            print(
                f"    target: no client starves, p99 <= {TARGETS['starvation']} x p50: "
                f"{verdict(ratio <= TARGETS['starvation'])}"
            )
        start = day0 + dt.timedelta(days=30)
        ms = sequential(
            port,
            f"/api/v1/instruments/{busy.pk}/availability/?start={iso(start)}&end={iso(start + dt.timedelta(days=90))}",
            100,
        )
        print(
            f"  availability, 90 days of the instrument with 10,000 bookings, p50 {ms:.1f} ms "
            f"(target <= {TARGETS['availability_ms']}: {verdict(ms <= TARGETS['availability_ms'])})"
        )
        ids = ",".join(str(i.pk) for i in many)
        ms = sequential(
            port,
            f"/api/v1/availability/?instruments={ids}&duration_minutes=120&start={iso(day0)}"
            f"&end={iso(day0 + dt.timedelta(days=14))}",
            20,
        )
        print(
            f"  joint search, 500 instruments, 14 days, p50 {ms:.1f} ms "
            f"(target <= {TARGETS['search_ms']}: {verdict(ms <= TARGETS['search_ms'])})"
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
        connections.close_all()


def environment(serving: str, scratch: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="WARNING", SANJIAO_VAR_DIR=scratch)
    if serving == "production":
        env.update(
            DATABASE_URL=f"{PG}/sanjiao_bench_{os.getpid()}",
            REDIS_URL=f"redis://127.0.0.1:6379/{REDIS_DB}",
            # As docs/deploy.md sets up the WSGI workers: persistent connections keeping their prepared statements.
            DB_CONN_MAX_AGE=os.environ.get("DB_CONN_MAX_AGE", "600"),
            DB_PREPARED_STATEMENTS=os.environ.get("DB_PREPARED_STATEMENTS", "true"),
        )
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serving", nargs="+", choices=SERVINGS, default=list(SERVINGS))
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of the production serving")
    parser.add_argument("--child", choices=SERVINGS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_serving(args.child, args)
    if args.seconds <= 0 or not 1 <= args.clients <= 200:
        parser.error("--seconds must be positive and --clients between 1 and 200")

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit.strip() or 'unknown'}, load average "
        f"{os.getloadavg()[0]:.1f}; {args.clients} clients, {args.seconds:.0f} s; client and server share this machine"
    )
    for serving in args.serving:
        print(f"{serving}:" if serving == "make-run" else f"{serving} (gunicorn, {args.workers} workers):", flush=True)
        scratch = tempfile.mkdtemp(prefix=f"sanjiao-bench-{serving}-")
        env = environment(serving, scratch)
        if serving == "production":
            import psycopg

            db = env["DATABASE_URL"].rsplit("/", 1)[1]
            with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{db}"')
        try:
            child = [
                sys.executable,
                __file__,
                "--child",
                serving,
                "--seconds",
                str(args.seconds),
                "--clients",
                str(args.clients),
                "--workers",
                str(args.workers),
            ]
            subprocess.run(child, env=env, cwd=ROOT, check=False, timeout=900)
        finally:
            if serving == "production":
                with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
                import redis

                redis.Redis.from_url(env["REDIS_URL"]).flushdb()
            subprocess.run(["rm", "-rf", scratch], check=False)


if __name__ == "__main__":
    main()
