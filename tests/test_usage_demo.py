"""The demo's recorded use: sessions for completed demo bookings (the same minutes the history's actual
times give, so the demo's charges stand), some walk-ups, and seeding again changes nothing."""

from django.core.management import call_command

from booking.demo import load_demo_history
from booking.models import Booking
from facilities.seed import load_catalog, load_demo_people
from usage.demo import load_demo_usage
from usage.models import UsageSession, UsageSettings
from usage.selectors import used_minutes_by_booking


def test_demo_usage_is_recorded_once(db):
    load_catalog()
    load_demo_people()
    load_demo_history()
    first = load_demo_usage()
    assert first["sessions"] > 10
    assert load_demo_usage() == {"sessions": 0}
    call_command("seed_demo_usage", stdout=open("/dev/null", "w"))
    assert UsageSession.objects.count() == first["sessions"]
    sources = set(UsageSession.objects.values_list("source", flat=True))
    assert sources == {"agent", "qr"}
    assert UsageSession.objects.filter(booking__isnull=True).exists()  # walk-ups
    assert UsageSettings.objects.filter(instrument__facility__code="SHMFF", no_show_after_minutes=30).exists()
    completed = Booking.objects.filter(
        status="completed", instrument__facility__code__in=["SHMFF", "NFPS"], usage_sessions__isnull=False
    ).distinct()
    used = used_minutes_by_booking(completed.values_list("pk", flat=True))
    for b in completed[:20]:
        assert used[b.pk] == int((b.actual_end - b.actual_start).total_seconds() // 60)
