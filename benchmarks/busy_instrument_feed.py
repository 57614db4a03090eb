"""What a change costs a busy instrument's calendar feed.

Builds a scratch database (benchmarks/_setup.py: SQLite, or BENCH_DATABASE_URL) with one instrument
holding about --bookings bookings spread over its default feed window (the past 30 days to its
booking horizon, several people), then prints the median milliseconds of --repeat runs of:

- full build: the public instrument feed, the requester's personal feed and the facility feed with
  every cache emptied (what the first poll of a day costs);
- unchanged: a poll when nothing changed (one aggregate query and a cache read);
- after one change: a poll right after one booking was cancelled through the booking service (the
  feed is stale, so it is assembled again; only the changed booking is rendered again);
- the same polls over HTTP (`GET /calendar/instruments/{id}.ics`), and a poll of the next seven days
  only (`?start=&end=`) after the change.

    .venv/bin/python benchmarks/busy_instrument_feed.py [--bookings 1000] [--repeat 7]
"""

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import setup_django  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    vendor = setup_django("busy-feed")

    from django.core.cache import cache
    from django.test import Client
    from django.utils import timezone

    from booking import feeds
    from booking.models import Booking
    from booking.services import booking_cancel
    from facilities.models import Facility, Institution, Instrument, Membership, User

    host = Institution.objects.create(code="BUSY", name="Busy institute", kind="institute")
    facility = Facility.objects.create(
        code="BUSY", name="Busy facility", province="shanghai", city="Shanghai", host=host, category="light_source"
    )
    instrument = Instrument.objects.create(
        facility=facility, code="BUSY-1", name="Busy instrument", max_minutes=1440, horizon_days=90
    )
    people = []
    for k in range(5):
        user = User.objects.create(username=f"busy{k}", email=f"busy{k}@example.org")
        Membership.objects.create(user=user, institution=host, role="researcher")
        people.append(user)
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - dt.timedelta(days=29)
    span_hours = (29 + instrument.horizon_days) * 24
    step = max(1, span_hours // args.bookings)
    rows = []
    for k in range(args.bookings):
        start = first + dt.timedelta(hours=step * k)
        ended = start + dt.timedelta(hours=1) < timezone.now()
        rows.append(
            Booking(
                instrument=instrument,
                requester=people[k % len(people)],
                institution=host,
                status="completed" if ended else "approved",
                start=start,
                end=start + dt.timedelta(hours=1),
                hold_end=start + dt.timedelta(hours=1),
                purpose=f"Experiment {k}",
            )
        )
    Booking.objects.bulk_create(rows)
    future = list(
        Booking.objects.filter(instrument=instrument, status="approved").order_by("start").values_list("id", flat=True)
    )
    owner = {b.pk: b.requester for b in Booking.objects.filter(pk__in=future).select_related("requester")}

    def ms(fn) -> float:
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1000

    def median(values: list[float]) -> str:
        return f"{statistics.median(values):8.1f}"

    def public() -> bytes:
        return feeds.instrument_feed(Instrument.objects.select_related("facility").get(pk=instrument.pk)).body

    def personal() -> bytes:
        return feeds.personal_feed(people[0]).body

    def at_facility() -> bytes:
        return feeds.facility_feed(facility).body

    feeds.vtimezone(feeds.settings.TIME_ZONE)  # computed once per process, not part of any poll
    events = public().count(b"BEGIN:VEVENT")
    print(f"database {vendor}; {Booking.objects.count()} bookings on {instrument.code}; {events} events in its feed")
    print(f"{'feed':<22} {'full build':>10} {'unchanged':>10} {'after one change':>17}")
    changes = iter(future)
    mine = iter([b for b in future if owner[b] == people[0]][args.repeat :])
    for name, poll in (("instrument (public)", public), ("personal (busy0)", personal), ("facility", at_facility)):
        cold, warm, after = [], [], []
        for _ in range(args.repeat):
            cache.clear()
            cold.append(ms(poll))
            warm.append(ms(poll))
            booking_id = next(mine if poll is personal else changes)
            booking_cancel(actor=owner[booking_id], booking_id=booking_id)
            after.append(ms(poll))
        print(f"{name:<22} {median(cold):>10} {median(warm):>10} {median(after):>17}")

    client = Client()
    url = f"/calendar/instruments/{instrument.pk}.ics"
    cold, warm, after, narrow = [], [], [], []
    week = {"start": today.date().isoformat(), "end": (today + dt.timedelta(days=7)).date().isoformat()}
    for _ in range(args.repeat):
        cache.clear()
        cold.append(ms(lambda: client.get(url)))
        warm.append(ms(lambda: client.get(url)))
        client.get(url, week)
        booking_id = next(changes)
        booking_cancel(actor=owner[booking_id], booking_id=booking_id)
        after.append(ms(lambda: client.get(url)))
        narrow.append(ms(lambda: client.get(url, week)))
    print(f"{'HTTP GET instrument':<22} {median(cold):>10} {median(warm):>10} {median(after):>17}")
    events_week = client.get(url, week).content.count(b"BEGIN:VEVENT")
    print(f"HTTP GET instrument, next 7 days only ({events_week} events), after the change: {median(narrow)} ms")


if __name__ == "__main__":
    main()
