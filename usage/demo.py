"""Demo use: the recorded use of the demo history's completed bookings, as their facilities would have
recorded it (SHMFF's magnets by their interlock's agent, NFPS by check-in), a few walk-ups, and the
usage settings of those facilities' instruments. Deterministic and idempotent; needs the demo history."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from booking.models import Booking
from facilities.models import Instrument, User

from .models import EndedBy, Source, UsageSession, UsageSettings

SOURCES = {"SHMFF": Source.AGENT, "NFPS": Source.QR}
# (username, facility, instrument, days ago, local hour, minutes): use without a booking.
WALK_UPS = [
    ("yu.sun", "SHMFF", "WM1", 3, 19, 50),
    ("qing.wu", "NFPS", "MS-1", 5, 18, 35),
    ("wei.zhang", "NFPS", "CRYOEM-2", 9, 20, 70),
]


def load_demo_usage(now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    created = 0
    with transaction.atomic():
        for instrument in Instrument.objects.filter(facility__code__in=SOURCES):
            UsageSettings.objects.get_or_create(
                instrument=instrument,
                defaults={"checkin_early_minutes": 15, "no_show_after_minutes": 30, "heartbeat_timeout_minutes": 10},
            )
        done = Booking.objects.filter(
            instrument__facility__code__in=SOURCES,
            status=Booking.Status.COMPLETED,
            actual_start__isnull=False,
            actual_end__isnull=False,
        ).exclude(pk__in=UsageSession.objects.filter(booking__isnull=False).values("booking_id"))
        for b in done.select_related("instrument__facility").order_by("start", "pk"):
            source = SOURCES[b.instrument.facility.code]
            UsageSession.objects.create(
                instrument=b.instrument,
                user_id=b.requester_id,
                booking=b,
                start=b.actual_start,
                end=b.actual_end,
                last_seen=b.actual_end,
                source=source,
                ended_by=EndedBy.STOP,
                recorded_by_id=b.requester_id if source == Source.QR else None,
            )
            created += 1
        users = {u.username: u for u in User.objects.filter(username__in={w[0] for w in WALK_UPS})}
        today = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
        for username, facility, code, days, hour, minutes in WALK_UPS:
            instrument = Instrument.objects.filter(facility__code=facility, code=code).first()
            if instrument is None or username not in users:
                continue
            start = (today - dt.timedelta(days=days)).replace(hour=hour)
            if UsageSession.objects.filter(instrument=instrument, start=start).exists():
                continue
            end = start + dt.timedelta(minutes=minutes)
            taken = Booking.objects.filter(instrument=instrument, start__lt=end, hold_end__gt=start).exclude(
                status__in=(Booking.Status.CANCELLED, Booking.Status.REJECTED)
            )
            if taken.exists():
                continue
            UsageSession.objects.create(
                instrument=instrument,
                user=users[username],
                start=start,
                end=end,
                last_seen=end,
                source=Source.QR,
                ended_by=EndedBy.STOP,
                recorded_by=users[username],
            )
            created += 1
    return {"sessions": created}
