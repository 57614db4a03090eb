"""The public busy list of an instrument in a compact form, the pure functions that clip it to one
subscriber's window and render it as JSON, and the small message that announces a change.

A `State` holds the busy spans of one instrument over a wide window, as integer microseconds since
the epoch: exact and cheap to compare and clip. Clipping a wide state to a narrower window gives
exactly what `booking.selectors.availability` computes for that narrower window (the property tests
check it), so one read per change serves every subscriber of a process inside the window.
"""

import datetime as dt
import json
from bisect import bisect_right
from dataclasses import dataclass

from common.time import local_tz
from facilities.calendar import closed_spans_many
from facilities.models import Instrument

from ..selectors import held_spans_many, label_busy

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
KINDS = ("booking", "closure")
KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}


def to_us(moment: dt.datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=us)


@dataclass(frozen=True)
class State:
    """Busy spans of one instrument over [start, end), sorted and disjoint, as of `version` or later."""

    instrument: int
    version: int
    start: int
    end: int
    spans: tuple[tuple[int, int, int], ...]  # (start_us, end_us, kind code)

    def covers(self, start: int, end: int) -> bool:
        return self.start <= start and end <= self.end


def availability_message(instrument: int, version: int, touched: list[tuple[int, int]]) -> dict:
    """The channel-layer message announcing a committed change: the instrument, the version the change
    produced and where in time it happened (`touched`, spans in microseconds)."""
    return {
        "type": "live.availability",
        "instrument": instrument,
        "version": version,
        "touched": [x for span in touched for x in span],
    }


def touched_from_message(message: dict) -> list[tuple[int, int]]:
    flat = message.get("touched") or []
    return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]


def clip(state: State, start: int, end: int) -> list[tuple[int, int, int]]:
    """The state's spans inside [start, end), cut at the edges. The caller checks `covers` first."""
    spans = state.spans
    # First span that could reach past `start`: spans are disjoint and sorted, so ends are sorted too.
    i = bisect_right([s[1] for s in spans], start) if len(spans) > 32 else 0
    out: list[tuple[int, int, int]] = []
    for s, e, k in spans[i:]:
        if s >= end:
            break
        if e > start:
            out.append((max(s, start), min(e, end), k))
    return out


def render_busy(spans: list[tuple[int, int, int]]) -> str:
    """The JSON array the protocol shows: [{"start", "end", "kind"}] with +08:00 times."""
    tz = local_tz()
    return json.dumps(
        [
            {
                "start": from_us(s).astimezone(tz).isoformat(),
                "end": from_us(e).astimezone(tz).isoformat(),
                "kind": KINDS[k],
            }
            for s, e, k in spans
        ],
        separators=(",", ":"),
    )


def touches(touched: list[tuple[int, int]] | None, start: int, end: int) -> bool:
    """Whether a change at `touched` concerns the window [start, end); None means where is unknown (a
    change found by the database check rather than announced), which concerns every window."""
    return touched is None or any(s < end and start < e for s, e in touched)


def message_text(kind: str, instrument: int, version: int, busy_json: str) -> str:
    return f'{{"type":"{kind}","instrument":{instrument},"version":{version},"busy":{busy_json}}}'


# --- reading from the database (sync; async callers wrap these in database_sync_to_async) ------------


def instruments_by_id(ids: list[int]) -> dict[int, Instrument]:
    """The active instruments among `ids`, with their facility (its calendar rules apply to them)."""
    return Instrument.objects.select_related("facility").filter(pk__in=ids, active=True).in_bulk()


def compute_states(instruments: list[Instrument], start: dt.datetime, end: dt.datetime) -> dict[int, State]:
    """The busy state of each instrument over [start, end), labelled with the version the instrument rows
    carry. Callers pass rows they have just read: the version is read before the busy spans, so each
    state is at least as new as its version and a later, higher version can only carry newer data."""
    if not instruments:
        return {}
    versions = {i.pk: i.availability_version for i in instruments}
    closed = closed_spans_many(instruments, start, end)
    held = held_spans_many([i.pk for i in instruments], start, end)
    s_us, e_us = to_us(start), to_us(end)
    states: dict[int, State] = {}
    for inst in instruments:
        busy = label_busy(closed[inst.pk], held[inst.pk])
        spans = tuple((to_us(b["start"]), to_us(b["end"]), KIND_CODE[b["kind"]]) for b in busy)
        states[inst.pk] = State(inst.pk, versions[inst.pk], s_us, e_us, spans)
    return states


def publish_window(instrument: Instrument, now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The wide window a hub reads a change over: a few days back (people look at this week) and as
    far ahead as anyone may book, within LIVE_PUBLISH_MAX_DAYS."""
    from django.conf import settings
    from django.utils import timezone

    today = (now or timezone.now()).astimezone(local_tz()).date()
    past = settings.LIVE_PUBLISH_PAST_DAYS
    ahead = max(instrument.horizon_days or 0, settings.LIVE_MAX_WINDOW_DAYS) + 2
    ahead = min(ahead, max(settings.LIVE_PUBLISH_MAX_DAYS - past, 1))
    start = dt.datetime.combine(today - dt.timedelta(days=past), dt.time(0), local_tz())
    end = dt.datetime.combine(today + dt.timedelta(days=ahead), dt.time(0), local_tz())
    return start, end


def wide_state(instrument_id: int) -> State | None:
    """The state a hub hands out for a change, or None when the instrument is gone or inactive."""
    inst = instruments_by_id([instrument_id]).get(instrument_id)
    if inst is None:
        return None
    start, end = publish_window(inst)
    return compute_states([inst], start, end)[instrument_id]


def window_state(instrument_id: int, start: int, end: int) -> State | None:
    """The state over one subscriber's window: the fallback when the wide state does not cover it."""
    inst = instruments_by_id([instrument_id]).get(instrument_id)
    if inst is None:
        return None
    return compute_states([inst], from_us(start), from_us(end))[instrument_id]


def current_versions(ids: list[int]) -> dict[int, int]:
    return dict(Instrument.objects.filter(pk__in=ids).values_list("pk", "availability_version"))
