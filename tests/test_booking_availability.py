"""The public busy list: closures win where they meet bookings; sorted, disjoint, joined."""

import datetime as dt
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from booking.selectors import label_busy
from common.intervals import merge

BASE = dt.datetime(2026, 12, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
M = dt.timedelta(minutes=1)

spans = st.lists(st.tuples(st.integers(0, 200), st.integers(1, 40)), max_size=12).map(
    lambda xs: merge([(BASE + a * M, BASE + (a + n) * M) for a, n in xs])
)


@given(closed=spans, held=spans)
def test_busy_labels_match_minute_by_minute(closed, held):
    busy = label_busy(closed, held)
    for x, y in pairwise(busy):
        assert x["end"] <= y["start"], "sorted and disjoint"
        assert not (x["end"] == y["start"] and x["kind"] == y["kind"]), "touching spans of one kind are joined"
    for minute in range(0, 260):
        t = BASE + minute * M
        in_closed = any(s <= t < e for s, e in closed)
        in_held = any(s <= t < e for s, e in held)
        kinds = [b["kind"] for b in busy if b["start"] <= t < b["end"]]
        expected = ["closure"] if in_closed else ["booking"] if in_held else []
        assert kinds == expected, (t, kinds, expected)
