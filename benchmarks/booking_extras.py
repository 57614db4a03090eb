"""Series, bundles and the waitlist sweep at their limits. Not part of the test suite; run it and
compare the figures it prints with benchmarks/README.md ("Series, bundles, waitlist").

    .venv/bin/python benchmarks/booking_extras.py                 # a temporary SQLite file
    export BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/sanjiao_bench_extras
    .venv/bin/python benchmarks/booking_extras.py                 # then on that PostgreSQL database

Times are medians of --repeat runs (default 3); each run's writes are rolled back. The waitlist sweep
is timed with N waiting entries spread over 100 instruments whose slots are all still held (the
periodic job's common case: nothing to offer), and after every held slot was cancelled (everything
to offer).
"""

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import setup_django  # noqa: E402


class Rollback(Exception):
    pass


def timed(fn, repeat: int) -> float:
    from django.db import transaction

    runs = []
    for _ in range(repeat):
        try:
            with transaction.atomic():
                t = time.perf_counter()
                fn()
                runs.append(time.perf_counter() - t)
                raise Rollback
        except Rollback:
            pass
    return statistics.median(runs) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--entries", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()
    backend = setup_django("extras")
    from django.db import transaction
    from django.utils import timezone

    from booking.models import Booking, WaitlistEntry
    from booking.services import booking_bundle_request, booking_series_request
    from booking.services.waitlist import waitlist_expire_offers
    from facilities.models import Facility, FundingAccount, Institution, Instrument, Membership, User
    from facilities.models.tenants import Role

    with transaction.atomic():
        host = Institution.objects.create(
            code="BHOST", name="Bench host", kind="institute", province="shanghai", city="Shanghai"
        )
        home = Institution.objects.create(
            code="BHOME", name="Bench home", kind="university", province="anhui", city="Hefei"
        )
        facility = Facility.objects.create(
            code="BENCH", name="Bench", province="shanghai", city="Shanghai", host=host, category="light_source"
        )
        instruments = Instrument.objects.bulk_create(
            Instrument(facility=facility, code=f"I{n}", name=f"I{n}", max_minutes=1440, horizon_days=400)
            for n in range(100)
        )
        users = []
        for n in range(2):
            user = User.objects.create_user(f"bench{n}", password="x")
            Membership.objects.create(user=user, institution=home, role=Role.RESEARCHER)
            user.default_account = FundingAccount.objects.create(
                code=f"B-{n}",
                title="Bench",
                institution=home,
                principal_investigator=user,
                valid_from=dt.date(2020, 1, 1),
                valid_until=dt.date(2099, 12, 31),
            )
            user.save()
            users.append(user)
    base = (timezone.localtime() + dt.timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    H = dt.timedelta(hours=1)
    print(f"Backend: {backend}; median of {args.repeat} runs")
    ms = timed(
        lambda: booking_series_request(
            requester=users[0], instrument=instruments[0], start=base, end=base + 2 * H, count=52
        ),
        args.repeat,
    )
    print(f"series of 52 occurrences: {ms:,.0f} ms ({ms / 52:.1f} ms per occurrence)")
    items = [{"instrument": i, "start": base, "end": base + 2 * H} for i in instruments[:20]]
    ms = timed(lambda: booking_bundle_request(requester=users[0], items=items), args.repeat)
    print(f"bundle of 20 instruments: {ms:,.0f} ms")

    for n in args.entries:
        # Each sweep takes the entry count as an argument rather than closing over the loop variable.
        def scene(n: int):
            held = Booking.objects.bulk_create(
                Booking(
                    instrument=i,
                    requester=users[0],
                    institution=home,
                    start=base + k * 3 * H,
                    end=base + (k * 3 + 1) * H,
                    hold_end=base + (k * 3 + 1) * H,
                    status=Booking.Status.APPROVED,
                )
                for k in range(max(1, n // 100))
                for i in instruments
            )
            WaitlistEntry.objects.bulk_create(
                WaitlistEntry(instrument=b.instrument, user=users[1], start=b.start, end=b.end) for b in held[:n]
            )
            return held

        def held_sweep(n: int):
            scene(n)
            t = time.perf_counter()
            waitlist_expire_offers()
            return time.perf_counter() - t

        def freed_sweep(n: int):
            held = scene(n)
            Booking.objects.filter(pk__in=[b.pk for b in held]).update(status=Booking.Status.CANCELLED)
            t = time.perf_counter()
            counts = waitlist_expire_offers()
            assert counts["offered"] == n, counts
            return time.perf_counter() - t

        for label, fn in (("all held", held_sweep), ("all freed", freed_sweep)):
            runs = []
            for _ in range(args.repeat):
                try:
                    with transaction.atomic():
                        runs.append(fn(n))
                        raise Rollback
                except Rollback:
                    pass
            print(
                f"waitlist sweep, {n:,} entries on 100 instruments, {label}: {statistics.median(runs) * 1000:,.0f} ms"
            )


if __name__ == "__main__":
    main()
