"""Property tests of the public availability: whatever the bookings, closures and hours, free and busy
partition the window, are sorted and disjoint, and agree with the bookings and closures."""

import datetime as dt
from itertools import pairwise

from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from booking.models import Booking
from booking.selectors import availability
from common.intervals import merge
from facilities.calendar import closed_spans
from facilities.models import Closure, OperatingHours

from .factories.booking import BookingFactory

H = dt.timedelta(hours=1)
CELL = 4  # hours per cell: a booking of up to 3 hours and a buffer of up to 1, so held spans stay apart


def _covered(span, spans) -> bool:
    return any(s <= span[0] and span[1] <= e for s, e in spans)


def _overlap(span, spans) -> bool:
    return any(span[0] < e and s < span[1] for s, e in spans)


@hsettings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cells=st.dictionaries(
        st.integers(0, 23),
        st.tuples(st.integers(0, 1), st.integers(1, 2), st.sampled_from(list(Booking.Status))),
        max_size=8,
    ),
    buffer=st.sampled_from([0, 30, 60]),
    closures=st.lists(st.tuples(st.integers(0, 70), st.integers(1, 12)), max_size=3),
    hours=st.booleans(),
    window=st.tuples(st.integers(0, 40), st.integers(1, 48)),
)
def test_free_and_busy_partition_the_window(world, tomorrow_9, cells, buffer, closures, hours, window):
    base = tomorrow_9.replace(hour=0)
    with transaction.atomic():
        instrument = world.instrument
        instrument.buffer_minutes = buffer
        instrument.save()
        if hours:
            OperatingHours.objects.bulk_create(
                OperatingHours(facility=world.facility, weekday=d, opens=dt.time(8), closes=dt.time(20))
                for d in range(5)
            )
        held = []
        for cell, (offset, length, status) in cells.items():
            start = base + (cell * CELL + offset) * H
            b = BookingFactory(
                instrument=instrument,
                requester=world.researcher,
                institution=world.ustc,
                start=start,
                end=start + length * H,
                status=status,
            )
            if b.holds_slot:
                held.append((b.start, b.hold_end))
        for at, length in closures:
            Closure.objects.create(facility=world.facility, start=base + at * H, end=base + (at + length) * H)
        w_start, w_end = base + window[0] * H, base + (window[0] + window[1]) * H

        snap = availability(instrument, w_start, w_end)
        busy = [(b["start"], b["end"]) for b in snap["busy"]]
        free = [(f["start"], f["end"]) for f in snap["free"]]
        spans = sorted(busy + free)
        # A partition: sorted, disjoint, no gaps, exactly the window.
        assert busy == sorted(busy) and free == sorted(free)
        assert spans[0][0] == w_start and spans[-1][1] == w_end
        assert all(a[1] == b[0] for a, b in pairwise(spans))
        assert all(s < e for s, e in spans)
        # Agreement with what is in the database.
        closed = closed_spans(instrument, w_start, w_end)
        held_in = merge((max(s, w_start), min(e, w_end)) for s, e in held if s < w_end and e > w_start)
        for b in snap["busy"]:
            span = (b["start"], b["end"])
            assert _covered(span, closed if b["kind"] == "closure" else held_in), b
            if b["kind"] == "booking":
                assert not _overlap(span, closed)  # where both apply, the closure is shown
        for span in free:
            assert not _overlap(span, held_in) and not _overlap(span, closed)
        for span in held_in + closed:
            assert _covered(span, merge(busy))
        transaction.set_rollback(True)
