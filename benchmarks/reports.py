"""How long the quarterly sharing report takes for ALL facilities over a year of history.

Builds a throw-away database (PostgreSQL `sanjiao_reports_bench` on REPORTS_BENCH_PG, default
postgres://postgres@127.0.0.1:5432; or a temporary SQLite file with --sqlite), loads the real catalog
(26 facilities, 104 instruments), bulk-creates a year of bookings (200,000 by default: completed with
actual times, no-shows, cancellations early and late, rejections) with a charge for every completed
booking, then times the reports and prints the figures. Drops the database afterwards.

    .venv/bin/python benchmarks/reports.py [--sqlite] [--bookings 200000] [--repeat 5]
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "sanjiao_reports_bench"


def configure(args) -> str | None:
    """Point Django at the throw-away database before it loads; return the SQLite path if any."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.pop("REDIS_URL", None)
    if args.sqlite:
        path = os.path.join(tempfile.mkdtemp(prefix="reports-bench-"), "bench.sqlite3")
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        return path
    import psycopg

    server = os.environ.get("REPORTS_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    os.environ["DATABASE_URL"] = f"{server}/{DB_NAME}"
    return None


def drop(args, sqlite_path: str | None) -> None:
    from django.db import connections

    connections.close_all()
    if sqlite_path:
        for suffix in ("", "-wal", "-shm"):
            Path(sqlite_path + suffix).unlink(missing_ok=True)
        os.rmdir(os.path.dirname(sqlite_path))
        return
    import psycopg

    server = os.environ.get("REPORTS_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")


def populate(n_bookings: int, seed: int = 7) -> None:
    import datetime as dt
    from decimal import Decimal

    from django.core.management import call_command

    from billing.models import Charge
    from booking.models import Booking
    from common.time import local_tz
    from facilities.models import Institution, Instrument, Membership, User
    from facilities.seed import load_catalog

    rng = random.Random(seed)
    call_command("migrate", verbosity=0)
    load_catalog()
    Institution.objects.bulk_create(
        [
            Institution(code=f"CO{n}", name=f"Company {n}", kind="company", province="jiangsu", city="Suzhou")
            for n in range(20)
        ]
    )
    institutions = list(Institution.objects.all())
    users = User.objects.bulk_create(
        [User(username=f"bench{n}", calendar_token=f"bench-token-{n}") for n in range(600)]
    )
    Membership.objects.bulk_create(
        [
            Membership(user=u, institution=institutions[n % len(institutions)], role="researcher")
            for n, u in enumerate(users)
        ]
    )
    who = [(u.pk, institutions[n % len(institutions)]) for n, u in enumerate(users)]
    instruments = list(Instrument.objects.select_related("facility"))
    tz = local_tz()
    first_day = dt.datetime(2025, 10, 1, tzinfo=tz)
    per_instrument_day = n_bookings / (len(instruments) * 365)
    rows = []
    for inst in instruments:
        for day in range(365):
            # Whole and fractional parts of the daily mean, so the year totals n_bookings.
            count = int(per_instrument_day) + (rng.random() < per_instrument_day % 1)
            cursor = first_day + dt.timedelta(days=day, hours=rng.randint(0, 3))
            for _ in range(count):
                start = cursor
                end = start + dt.timedelta(hours=rng.randint(1, 4))
                cursor = end + dt.timedelta(minutes=30 * rng.randint(0, 2))
                user_id, inst_of = who[rng.randrange(len(who))]
                roll = rng.random()
                status = (
                    "completed"
                    if roll < 0.80
                    else "no_show"
                    if roll < 0.87
                    else "cancelled"
                    if roll < 0.95
                    else "rejected"
                )
                b = Booking(
                    instrument_id=inst.pk,
                    requester_id=user_id,
                    institution_id=inst_of.pk,
                    start=start,
                    end=end,
                    hold_end=end,
                    status=status,
                )
                if status == "completed":
                    b.actual_start = start + dt.timedelta(minutes=rng.choice((0, 0, 15)))
                    b.actual_end = end - dt.timedelta(minutes=rng.choice((0, 0, 30)))
                elif status == "cancelled":
                    b.cancelled_at = start - dt.timedelta(hours=rng.choice((2, 12, 48, 240)))
                rows.append(b)
    rows = rows[:n_bookings]
    made = Booking.objects.bulk_create(rows, batch_size=5000)
    by_id = {i.pk: i for i in instruments}
    kind_of = {i.pk: i.kind for i in institutions}
    charges = []
    for b in made:
        if b.status != "completed":
            continue
        inst = by_id[b.instrument_id]
        host = inst.facility.host_id
        if b.institution_id == host:
            user_class = "internal"
        elif kind_of[b.institution_id] == "company":
            user_class = "industry"
        else:
            user_class = "external_academic"
        minutes = int((b.end - b.start).total_seconds() // 60)
        amount = Decimal(minutes * 2)
        charges.append(
            Charge(
                booking_id=b.pk,
                kind="usage",
                period=b.start.astimezone(tz).strftime("%Y-%m"),
                instrument_id=inst.pk,
                facility_id=inst.facility_id,
                issuer_id=host,
                requester_institution_id=b.institution_id,
                user_class=user_class,
                hourly_rate=Decimal("120.00"),
                billing_model="booked",
                minutes=minutes,
                gross=amount,
                subsidy=Decimal("0"),
                amount=amount,
            )
        )
    Charge.objects.bulk_create(charges, batch_size=5000)
    print(
        f"data: {len(made):,} bookings, {len(charges):,} charges, {len(instruments)} instruments in "
        f"{len({i.facility_id for i in instruments})} facilities, {len(institutions)} institutions"
    )


def timed(label: str, fn, repeat: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    print(
        f"{label:<58} median {statistics.median(times):6.3f} s  min {min(times):6.3f} s  "
        f"({len(queries)} queries, {repeat} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sqlite", action="store_true", help="use a temporary SQLite file instead of PostgreSQL")
    parser.add_argument("--bookings", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sqlite_path = configure(args)
    import django

    django.setup()
    try:
        from django.db import connection

        from facilities.models import Facility, Institution
        from reports import exports
        from reports.periods import parse_period
        from reports.selectors import facility_report, facility_reports, fairness_report, institution_roll_up

        t0 = time.perf_counter()
        populate(args.bookings)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        print(f"setup {time.perf_counter() - t0:.1f} s on {connection.vendor}")
        quarter, year = parse_period("2026-Q3"), parse_period("2025-10")
        everything = list(Facility.objects.select_related("host"))
        ssrf = next(f for f in everything if f.code == "SSRF")
        timed("quarterly report, all facilities (2026-Q3)", lambda: facility_reports(everything, quarter), args.repeat)
        timed(
            "yearly report, all facilities (2026)",
            lambda: facility_reports(everything, parse_period("2026")),
            args.repeat,
        )
        timed("monthly report, all facilities (2025-10)", lambda: facility_reports(everything, year), args.repeat)
        timed("quarterly report, SSRF only", lambda: facility_report(ssrf, quarter), args.repeat)
        timed("quarterly report, SSRF, as XLSX", lambda: exports.as_xlsx(facility_report(ssrf, quarter)), args.repeat)
        timed("quarterly fairness, SSRF", lambda: fairness_report(ssrf, quarter), args.repeat)
        sari = Institution.objects.get(code="SARI")
        timed("quarterly roll-up of SARI's facilities", lambda: institution_roll_up(sari, quarter), args.repeat)
        total = facility_reports(everything, quarter)
        used = sum(r.totals.used_minutes for r in total) / 60
        print(f"check: 2026-Q3 used hours over all facilities = {used:,.0f}")
    finally:
        drop(args, sqlite_path)


if __name__ == "__main__":
    main()
