"""Half-open interval arithmetic, [start, end), on aware datetimes."""

from collections.abc import Iterable
from datetime import datetime
from typing import TypeVar

Span = tuple[datetime, datetime]
# intersect also serves spans of whole minutes counted from a base moment (the joint search's grid).
Point = TypeVar("Point", datetime, int)


def merge(spans: Iterable[Span]) -> list[Span]:
    """Sort and join overlapping or touching spans."""
    out: list[Span] = []
    for s, e in sorted(sp for sp in spans if sp[1] > sp[0]):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def clip(spans: Iterable[Span], start: datetime, end: datetime) -> list[Span]:
    return [(max(s, start), min(e, end)) for s, e in spans if e > start and s < end]


def complement(spans: Iterable[Span], start: datetime, end: datetime) -> list[Span]:
    """The parts of [start, end) that no span covers."""
    free: list[Span] = []
    cursor = start
    for s, e in merge(clip(spans, start, end)):
        if s > cursor:
            free.append((cursor, s))
        cursor = max(cursor, e)
    if cursor < end:
        free.append((cursor, end))
    return free


def intersect(a: list[tuple[Point, Point]], b: list[tuple[Point, Point]]) -> list[tuple[Point, Point]]:
    """Intersection of two sorted, disjoint span lists."""
    out: list[tuple[Point, Point]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        s = max(a[i][0], b[j][0])
        e = min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]
