"""How long a calendar feed takes to build and to answer, by number of events.

Builds a throw-away SQLite database in a temporary directory, bulk-creates N approved bookings for one
researcher on one instrument (N = 50, 500, 5000 by default), then times, per N: building the personal
and the public instrument feed from scratch (cache emptied first), an HTTP GET of the personal feed
answered from the feed cache (nothing changed since the last fetch), and a conditional GET answered 304.
Prints median milliseconds of --repeat runs and the feed size.

    .venv/bin/python benchmarks/calendar_feeds.py [--sizes 50 500 5000] [--repeat 5]
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500, 5000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="sanjiao-feed-bench-")
    os.environ["SANJIAO_VAR_DIR"] = tmp
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    settings.FEED_MAX_EVENTS = max(args.sizes)

    from booking import feeds
    from booking.models import Booking
    from facilities.models import Facility, Institution, Instrument, User

    host = Institution.objects.create(code="BENCH", name="Bench institute", kind="institute")
    facility = Facility.objects.create(
        code="BENCH", name="Bench facility", province="shanghai", city="Shanghai", host=host, category="light_source"
    )
    client = Client()
    start0 = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    print(
        f"{'events':>7} {'personal build ms':>18} {'public build ms':>16} "
        f"{'cached GET 200 ms':>18} {'GET 304 ms':>11} {'bytes':>9}"
    )
    for n in args.sizes:
        instrument = Instrument.objects.create(
            facility=facility, code=f"I{n}", name=f"Instrument {n}", max_minutes=1440
        )
        user = User.objects.create(username=f"bench{n}", email=f"bench{n}@example.org")
        Booking.objects.bulk_create(
            Booking(
                instrument=instrument,
                requester=user,
                institution=host,
                status="approved",
                start=start0 + dt.timedelta(hours=2 * k),
                end=start0 + dt.timedelta(hours=2 * k + 1),
                hold_end=start0 + dt.timedelta(hours=2 * k + 1),
                purpose=f"Experiment {k}",
            )
            for k in range(n)
        )
        url = f"/calendar/{user.calendar_token}.ics"

        def timed(fn, cold: bool = False) -> float:
            runs = []
            for _ in range(args.repeat):
                if cold:
                    cache.clear()
                t0 = time.perf_counter()
                fn()
                runs.append((time.perf_counter() - t0) * 1000)
            return statistics.median(runs)

        personal = timed(partial(feeds.personal_feed, user), cold=True)
        public = timed(partial(feeds.instrument_feed, instrument), cold=True)
        first = client.get(url)
        assert first.status_code == 200
        full = timed(partial(client.get, url))
        etag = first["ETag"]
        cond = timed(partial(client.get, url, HTTP_IF_NONE_MATCH=etag))
        assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
        print(f"{n:>7} {personal:>18.1f} {public:>16.1f} {full:>18.1f} {cond:>11.1f} {len(first.content):>9}")


if __name__ == "__main__":
    main()
