"""Booking engine speed on PostgreSQL, served the way production serves HTTP (gunicorn, WSGI).

    .venv/bin/python benchmarks/booking.py [--seconds 10] [--clients 32] [--workers 2] [--rounds 3]

Needs PostgreSQL at 127.0.0.1:5432 (user postgres) and Redis at 127.0.0.1:6379. The script creates
its own database (sanjiao_bench_<pid>), starts gunicorn on a free 127.0.0.1 port, sends bounded
traffic to it only, prints its figures, then stops the server, drops the database and empties the
Redis database it used. Not part of the test suite.

Figures:
1. booking creation under contention: 32 clients POST /api/v1/bookings/ for random hours over five
   days on four instruments (so most attempts meet a held slot), next to a trivial Django JSON view
   served by the same gunicorn in the same run (the ceiling); their ratio; the same traffic again once
   the slots are full (the cost of refusing alone). This is done in rounds, each on four fresh
   instruments and between two ceiling runs whose mean its ratios use; the median of the rounds is
   the figure. Then a query proving no two held bookings overlap;
2. availability of one instrument over 90 days with 10,000 bookings in the database, p50/p95;
3. joint search across 500 instruments over 14 days, p50/p95.
"""

import argparse
import asyncio
import datetime as dt
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432"
REDIS_DB = 14

# --- the served side: gunicorn imports this module as benchmarks.booking:application -----------------
if os.environ.get("SANJIAO_BENCH_SERVE") == "1":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from config.wsgi import application  # sets Django up before the URLs below are built

    from django.conf import settings
    from django.http import JsonResponse
    from django.urls import include, path

    def ceiling(request):
        return JsonResponse({"ok": True})

    urlpatterns = [path("bench/ceiling/", ceiling), path("", include("config.urls"))]
    settings.ROOT_URLCONF = __name__


# --- the measuring side ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def http(port: int, method: str, target: str, headers: dict | None = None, body: bytes = b"") -> tuple[int, float]:
    began = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
    data = await reader.read()
    writer.close()
    return int(data[9:12]), time.perf_counter() - began


async def load(port: int, clients: int, seconds: float, make_request, cap: int = 200_000) -> dict:
    """`clients` concurrent loops sending make_request(i) until `seconds` pass (or `cap` requests)."""
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    by_status: dict[int, list[float]] = {}
    deadline = time.perf_counter() + seconds
    sent = 0

    async def loop(i: int) -> None:
        nonlocal sent
        while time.perf_counter() < deadline and sent < cap:
            sent += 1
            status, took = await http(port, *make_request(i))
            statuses[status] = statuses.get(status, 0) + 1
            latencies.append(took)
            by_status.setdefault(status, []).append(took)

    began = time.perf_counter()
    await asyncio.gather(*(loop(i) for i in range(clients)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies), "per_second": len(latencies) / elapsed, "statuses": statuses,
        "p50_ms": 1000 * latencies[len(latencies) // 2], "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)],
        "elapsed": elapsed,
        "p50_by_status": {k: 1000 * statistics.median(v) for k, v in sorted(by_status.items())},
    }


def sequential_latency(port: int, target: str, samples: int) -> dict:
    async def run():
        out = []
        for _ in range(samples):
            status, took = await http(port, "GET", target)
            assert status == 200, (status, target[:80])
            out.append(took)
        return out

    times = sorted(asyncio.run(run()))
    return {"samples": samples, "p50_ms": 1000 * statistics.median(times), "p95_ms": 1000 * times[int(samples * 0.95)]}


def seed(clients: int, rounds: int):
    """Users with tokens, four hot instruments per round, one instrument with 10,000 bookings, 500 to search."""
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from booking.models import Booking, BookingSplit
    from facilities.models import Facility, FundingAccount, Institution, Instrument, Membership, User
    from facilities.models.tenants import Role

    ustc = Institution.objects.create(code="USTC", name="USTC", kind="university")
    sari = Institution.objects.create(code="SARI", name="SARI", kind="institute")
    facilities = [
        Facility.objects.create(code=f"BENCH{i}", name=f"Bench {i}", province="shanghai", city="Shanghai", host=sari,
                                category="light_source")
        for i in range(10)
    ]
    tokens = []
    for i in range(clients):
        user = User.objects.create_user(username=f"bench{i}", password="x")
        Membership.objects.create(user=user, institution=ustc, role=Role.RESEARCHER)
        account = FundingAccount.objects.create(code=f"G{i}", title="grant", institution=ustc, principal_investigator=user,
                                                valid_from=dt.date(2020, 1, 1), valid_until=dt.date(2099, 1, 1))
        user.default_account = account
        user.save(update_fields=["default_account"])
        tokens.append(Token.objects.create(user=user).key)

    def instrument(facility, code):
        return Instrument(facility=facility, code=code, name=code, booking_unit_minutes=60, min_minutes=60,
                          max_minutes=480, horizon_days=800)

    hot = Instrument.objects.bulk_create([instrument(facilities[0], f"HOT{i}") for i in range(4 * rounds)])
    heavy = Instrument.objects.bulk_create([instrument(facilities[1], "HEAVY")])[0]
    many = Instrument.objects.bulk_create([instrument(facilities[i % 10], f"S{i}") for i in range(500)])
    day0 = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    requester = User.objects.get(username="bench0")
    rows = []
    # 10,000 bookings on one instrument, about 14 a day for two years: a 90-day window holds ~1,250.
    for n in range(10_000):
        start = day0 + dt.timedelta(hours=n * 730 * 24 // 10_000)
        rows.append(Booking(instrument=heavy, requester=requester, institution=ustc, start=start,
                            end=start + dt.timedelta(hours=1), hold_end=start + dt.timedelta(hours=1), status="approved"))
    rng = random.Random(7)
    for inst in many:  # a few bookings each, so the joint search has something to step around
        for day in rng.sample(range(14), 4):  # distinct days: never overlapping
            start = day0 + dt.timedelta(days=day, hours=rng.randrange(24))
            rows.append(Booking(instrument=inst, requester=requester, institution=ustc, start=start,
                                    end=start + dt.timedelta(hours=1), hold_end=start + dt.timedelta(hours=1), status="approved"))
    created = Booking.objects.bulk_create(rows, batch_size=2000)
    account = FundingAccount.objects.get(code="G0")
    BookingSplit.objects.bulk_create([BookingSplit(booking=b, account=account, percent=100) for b in created], batch_size=5000)
    return tokens, hot, heavy, many, day0


def overlapping_pairs() -> int:
    from django.db import connection

    with connection.cursor() as c:
        c.execute("""
            SELECT count(*) FROM booking_booking a JOIN booking_booking b
              ON a.instrument_id = b.instrument_id AND a.id < b.id
             AND a.start < b.hold_end AND b.start < a.hold_end
             WHERE a.status IN ('requested', 'approved') AND b.status IN ('requested', 'approved')
        """)
        return c.fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3,
                        help="contention rounds, each on four fresh hot instruments between two ceiling runs")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    import psycopg

    db = f"sanjiao_bench_{os.getpid()}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{db}"')
    env = {
        **os.environ, "DATABASE_URL": f"{PG}/{db}", "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "WARNING", "SANJIAO_VAR_DIR": f"/tmp/{db}",
        # As README's "Running beyond one machine" sets up WSGI workers: persistent connections that keep
        # their prepared statements.
        "DB_CONN_MAX_AGE": os.environ.get("DB_CONN_MAX_AGE", "600"),
        "DB_PREPARED_STATEMENTS": os.environ.get("DB_PREPARED_STATEMENTS", "true"),
    }
    os.environ.update(env)
    server = None
    try:
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        began = time.perf_counter()
        tokens, hot, heavy, many, day0 = seed(args.clients, args.rounds)
        print(f"seeded in {time.perf_counter() - began:.1f}s: {args.clients} researchers, {len(hot)} hot instruments, "
              f"1 instrument with 10,000 bookings, 500 instruments to search")
        from django.db import connection, connections

        with connection.cursor() as cursor:  # planner statistics, as a live database has them
            cursor.execute("ANALYZE")
        connections.close_all()

        port = free_port()
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "benchmarks.booking:application", "--chdir", str(ROOT),
             "-w", str(args.workers), "-b", f"127.0.0.1:{port}", "--limit-request-line", "8190",
             "--log-level", "warning"],
            env={**env, "SANJIAO_BENCH_SERVE": "1"}, start_new_session=True,
        )
        for _ in range(300):
            if server.poll() is not None:
                raise SystemExit("gunicorn did not start")
            try:
                status, _ = asyncio.run(http(port, "GET", "/bench/ceiling/"))
                if status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("gunicorn did not answer within 30 s")
        print(f"gunicorn (WSGI, {args.workers} sync workers) on 127.0.0.1:{port}; {args.clients} concurrent clients, "
              f"{args.seconds:.0f}s per run; client and server share this machine")

        def measure_ceiling(when: str) -> float:
            result = asyncio.run(load(port, args.clients, args.seconds, lambda i: ("GET", "/bench/ceiling/")))
            print(f"ceiling  GET trivial JSON view ({when}): {result['per_second']:7.0f} req/s  p50 {result['p50_ms']:.1f} ms  "
                  f"p99 {result['p99_ms']:.1f} ms  {result['statuses']}")
            return result["per_second"]

        rng = random.Random(1)

        def contention(hot_ids: list[int]):
            def booking_request(i: int):
                start = day0 + dt.timedelta(hours=rng.randrange(24 * 5))
                body = (f'{{"instrument": {rng.choice(hot_ids)}, "start": "{start.isoformat()}", '
                        f'"end": "{(start + dt.timedelta(hours=rng.randint(1, 3))).isoformat()}"}}').encode()
                return "POST", "/api/v1/bookings/", {"Authorization": f"Token {tokens[i]}", "Content-Type": "application/json"}, body

            return booking_request

        # The machine's speed drifts within minutes, so each round sits between two ceiling runs and its
        # ratios use their mean; the rounds' median is the figure.
        ceilings = [measure_ceiling("before round 1")]
        ratios, full_ratios = [], []
        for r in range(args.rounds):
            booking_request = contention([i.pk for i in hot[4 * r:4 * r + 4]])
            booked = asyncio.run(load(port, args.clients, args.seconds, booking_request))
            print(f"round {r + 1}: bookings POST /api/v1/bookings/ on 4 fresh instruments: {booked['per_second']:7.0f} req/s  "
                  f"p50 {booked['p50_ms']:.1f} ms  p99 {booked['p99_ms']:.1f} ms  {booked['statuses']}")
            created = booked["statuses"].get(201, 0)
            print(f"  of which created: {created} ({created / booked['elapsed']:.0f}/s), refused as held: "
                  f"{booked['statuses'].get(409, 0)}; p50 by status (ms): "
                  + ", ".join(f"{k}: {v:.1f}" for k, v in booked["p50_by_status"].items()))
            # The same traffic again, now that those instruments are nearly full: what refusing costs alone.
            full = asyncio.run(load(port, args.clients, args.seconds, booking_request))
            print(f"  again, slots now full:         {full['per_second']:7.0f} req/s  p50 {full['p50_ms']:.1f} ms  "
                  f"{full['statuses']}")
            ceilings.append(measure_ceiling(f"after round {r + 1}"))
            ceiling = (ceilings[-2] + ceilings[-1]) / 2
            ratios.append(100 * booked["per_second"] / ceiling)
            full_ratios.append(100 * full["per_second"] / ceiling)
            print(f"  ratio bookings/ceiling: {ratios[-1]:.0f}%  (slots full: {full_ratios[-1]:.0f}%; ceiling the mean "
                  f"of before and after, {ceiling:.0f} req/s)")
        print(f"ratio bookings/ceiling, median of {args.rounds} rounds: {statistics.median(ratios):.0f}%  "
              f"(rounds: {', '.join(f'{x:.0f}%' for x in ratios)}; slots full: "
              f"{', '.join(f'{x:.0f}%' for x in full_ratios)})")
        print(f"overlapping held pairs after the run (SQL self-join): {overlapping_pairs()}")

        start = day0 + dt.timedelta(days=30)
        target = (f"/api/v1/instruments/{heavy.pk}/availability/?start={start.isoformat().replace('+', '%2B')}"
                  f"&end={(start + dt.timedelta(days=90)).isoformat().replace('+', '%2B')}")
        avail = sequential_latency(port, target, 200)
        print(f"availability, 90 days, 10,000 bookings in the DB: p50 {avail['p50_ms']:.1f} ms  p95 {avail['p95_ms']:.1f} ms "
              f"(HTTP, sequential, {avail['samples']} requests)")

        ids = ",".join(str(i.pk) for i in many)
        target = (f"/api/v1/availability/?instruments={ids}&duration_minutes=120&start={day0.isoformat().replace('+', '%2B')}"
                  f"&end={(day0 + dt.timedelta(days=14)).isoformat().replace('+', '%2B')}")
        joint = sequential_latency(port, target, 40)
        print(f"joint search, 500 instruments, 14 days: p50 {joint['p50_ms']:.1f} ms  p95 {joint['p95_ms']:.1f} ms "
              f"(HTTP, sequential, {joint['samples']} requests)")
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001 - Django may not have been set up
            pass
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        try:
            import redis

            redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}").flushdb()
        except Exception as exc:  # noqa: BLE001
            print(f"could not empty Redis db {REDIS_DB}: {exc}")


if __name__ == "__main__":
    main()
