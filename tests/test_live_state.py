"""The one-computation-per-change design rests on this: clipping the wide busy list to a window gives
exactly what the availability selector computes for that window."""

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from booking.live.protocol import RateLimit
from booking.live.state import KIND_CODE, State, clip, from_us, render_busy, to_us
from booking.selectors import label_busy
from common.intervals import clip as clip_spans
from common.intervals import merge

T0 = dt.datetime(2026, 11, 2, tzinfo=ZoneInfo("Asia/Shanghai"))
M = dt.timedelta(minutes=1)

span = st.tuples(st.integers(0, 600), st.integers(1, 120)).map(lambda p: (T0 + p[0] * M, T0 + (p[0] + p[1]) * M))


def as_state(busy: list[dict], start: dt.datetime, end: dt.datetime) -> State:
    spans = tuple((to_us(b["start"]), to_us(b["end"]), KIND_CODE[b["kind"]]) for b in busy)
    return State(1, 1, to_us(start), to_us(end), spans)


@settings(max_examples=150, deadline=None)
@given(
    closed=st.lists(span, max_size=8),
    held=st.lists(span, max_size=8),
    window=st.tuples(st.integers(0, 700), st.integers(1, 400)),
)
def test_clipping_the_wide_state_equals_computing_the_window(closed, held, window):
    wide_start, wide_end = T0, T0 + 800 * M
    start, end = T0 + window[0] * M, min(T0 + (window[0] + window[1]) * M, wide_end)
    wide = label_busy(merge(clip_spans(closed, wide_start, wide_end)), merge(clip_spans(held, wide_start, wide_end)))
    direct = label_busy(merge(clip_spans(closed, start, end)), merge(clip_spans(held, start, end)))
    state = as_state(wide, wide_start, wide_end)
    assert state.covers(to_us(start), to_us(end))
    assert clip(state, to_us(start), to_us(end)) == list(as_state(direct, start, end).spans)


@given(st.integers(-(10**15), 10**16))
def test_microsecond_round_trip_is_exact(us):
    assert to_us(from_us(us)) == us


def test_render_uses_local_offset():
    s = to_us(T0)
    assert render_busy([(s, s + 3_600_000_000, 0)]) == (
        '[{"start":"2026-11-02T00:00:00+08:00","end":"2026-11-02T01:00:00+08:00","kind":"booking"}]'
    )


def test_clip_on_long_lists_uses_the_same_answer_as_a_scan():
    spans = tuple((i * 10, i * 10 + 5, i % 2) for i in range(100))
    state = State(1, 1, 0, 1000, spans)
    for a, b in [(0, 1000), (3, 47), (505, 506), (999, 1000), (7, 9)]:
        expected = [(max(s, a), min(e, b), k) for s, e, k in spans if s < b and e > a]
        assert clip(state, a, b) == expected


def test_rate_limit_refills():
    limit = RateLimit(3)
    assert [limit.allow() for _ in range(4)] == [True, True, True, False]
    limit.at -= 1.0  # a second later
    assert limit.allow()


class FakeSocket:
    def __init__(self):
        self.texts: list[str] = []

    async def send_text(self, text: str) -> None:
        self.texts.append(text)


@settings(max_examples=50, deadline=None)
@given(
    order=st.permutations(list(range(1, 9))),
    repeats=st.lists(st.integers(1, 8), max_size=6),
    windows=st.lists(st.tuples(st.integers(0, 50), st.integers(1, 50)), min_size=1, max_size=4),
    unknown=st.sets(st.integers(1, 8)),
)
def test_hub_never_sends_a_version_backwards_whatever_the_arrival_order(order, repeats, windows, unknown):
    """Pub/sub may reorder and repeat messages from different publishers, and the database check may
    find a change before its message: each socket still sees versions only go up, and ends with the busy
    list of the newest version."""
    import asyncio
    import json

    from asgiref.sync import async_to_sync

    from booking.live.hub import Hub, Subscription
    from booking.live.state import availability_message

    def state_at(version: int) -> State:
        # Version v holds one booking [v, v + 3) (in whole seconds): every version changes some window.
        return State(1, version, 0, 10**9, ((version * 10**6, (version + 3) * 10**6, 0),))

    committed = [0]  # the newest version announced so far: a message is sent after its commit

    class ReadingHub(Hub):
        async def read_state(self, instrument: int) -> State:
            await asyncio.sleep(0)  # a read lets other messages arrive meanwhile
            return state_at(committed[0])

    async def scenario():
        hub = ReadingHub()  # not started: messages are handed to it directly, as its receive loop would
        sockets = []
        for a, length in windows:
            sock = FakeSocket()
            sub = Subscription(sock, 1, a * 10**6, (a + length) * 10**6)
            hub.subs[1].add(sub)
            sub.accept_snapshot(0, "[]")
            sockets.append((sock, sub))
        for version in list(order) + list(repeats):
            committed[0] = max(committed[0], version)
            if version in unknown:
                hub.hear(1, version, None)  # found by the database check: no place known
            else:
                await hub.on_message(availability_message(1, version, [(version * 10**6, (version + 3) * 10**6)]))
            await asyncio.sleep(0)
        while hub.readers:
            await asyncio.sleep(0)
        return sockets

    newest = state_at(8)
    for sock, sub in async_to_sync(scenario)():
        versions = [json.loads(t)["version"] for t in sock.texts]
        assert versions == sorted(set(versions)), versions
        assert sub.version == 8
        assert sub.busy_json == render_busy(clip(newest, sub.start, sub.end))
