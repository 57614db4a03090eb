"""Property: whatever mix of bookings a user has, their feed is valid iCalendar to two parsers, lists
exactly the bookings in the window once each, and marks each status the same way."""

import datetime as dt

import icalendar
import vobject
from django.core.cache import cache
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from booking import feeds
from booking.models import Booking

from .factories.facilities import InstrumentFactory

STATUSES = [s.value for s in Booking.Status]
EXPECTED = {
    "requested": "TENTATIVE",
    "approved": "CONFIRMED",
    "completed": "CONFIRMED",
    "no_show": "CONFIRMED",
    "rejected": "CANCELLED",
    "cancelled": "CANCELLED",
}

booking_specs = st.lists(
    st.tuples(
        st.integers(min_value=-200, max_value=200),  # start, days from today
        st.integers(min_value=1, max_value=48),  # length in hours
        st.sampled_from(STATUSES),
        st.integers(min_value=0, max_value=60),  # days since the last change
        st.integers(min_value=0, max_value=5),  # sequence
        # purpose: any text PostgreSQL can store (no NUL): commas, semicolons, newlines, controls, CJK
        st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40),
    ),
    max_size=12,
)


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=booking_specs)
def test_feed_lists_the_window_exactly(world, specs):
    from django.conf import settings

    Booking.objects.all().delete()
    cache.clear()
    now = timezone.now()
    today = timezone.localtime(now).replace(hour=9, minute=0, second=0, microsecond=0)
    rows = []
    for day, hours, status, _age, seq, purpose in specs:
        start = today + dt.timedelta(days=day)
        # One instrument each: held bookings of one instrument may not overlap (PostgreSQL enforces it).
        rows.append(
            Booking(
                instrument=InstrumentFactory(facility=world.facility),
                requester=world.researcher,
                institution=world.ustc,
                status=status,
                start=start,
                end=start + dt.timedelta(hours=hours),
                hold_end=start + dt.timedelta(hours=hours),
                purpose=purpose,
                sequence=seq,
            )
        )
    made = Booking.objects.bulk_create(rows)
    for b, (_, _, _, age, _, _) in zip(made, specs, strict=True):
        Booking.objects.filter(pk=b.pk).update(updated_at=now - dt.timedelta(days=age))
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    expected = {
        f"booking-{b.pk}@sanjiao": b
        for b, (_, _, status, age, _, _) in zip(made, specs, strict=True)
        if b.end > midnight - dt.timedelta(days=settings.FEED_PAST_DAYS)
        and (
            status not in ("cancelled", "rejected")
            or now - dt.timedelta(days=age) >= midnight - dt.timedelta(days=settings.FEED_KEEP_CANCELLED_DAYS)
        )
    }
    body = feeds.personal_feed(world.researcher, now=now).body
    cal = icalendar.Calendar.from_ical(body)
    parsed = {str(ev["uid"]): ev for ev in cal.walk("VEVENT")}
    assert len(parsed) == len(cal.walk("VEVENT"))  # no UID twice
    assert set(parsed) == set(expected)
    vuids = [ev.uid.value for ev in getattr(vobject.readOne(body.decode()), "vevent_list", [])]
    assert sorted(vuids) == sorted(expected)
    for uid, b in expected.items():
        ev = parsed[uid]
        assert str(ev["status"]) == EXPECTED[b.status]
        assert int(ev["sequence"]) == b.sequence
        assert ev.decoded("dtstart") == b.start and ev.decoded("dtend") == b.end
        assert feeds.clean_text(b.purpose) in str(ev["description"])
