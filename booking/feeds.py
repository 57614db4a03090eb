"""Bookings as iCalendar: subscription feeds (personal, facility, public busy) and mail invitations.

Every event of one booking carries the same UID wherever it appears (feed or invitation) and
SEQUENCE = Booking.sequence, so a calendar client that saw an older copy replaces it. DTSTAMP is the
booking's last change: a feed's bytes depend only on the data, so its ETag is stable between fetches
that see no change.
"""

import datetime as dt
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone
from icalendar import Calendar, Event, Timezone, vCalAddress, vText

from facilities.models import Closure, Facility, Instrument, User

from .holds import HELD_STATUSES
from .models import Booking

PRODID = "-//Sanjiao//Research infrastructure booking//EN"
UID_DOMAIN = "sanjiao"
# Covers every booking the platform can hold; older or later dates fall back to the zone's last rule.
VTIMEZONE_FROM = dt.date(2000, 1, 1)
VTIMEZONE_UNTIL = dt.date(2100, 1, 1)

ENDED_STATUSES = (Booking.Status.CANCELLED, Booking.Status.REJECTED)
ICAL_STATUS: dict[str, str] = {
    Booking.Status.REQUESTED: "TENTATIVE",
    Booking.Status.APPROVED: "CONFIRMED",
    Booking.Status.COMPLETED: "CONFIRMED",
    Booking.Status.NO_SHOW: "CONFIRMED",
    Booking.Status.REJECTED: "CANCELLED",
    Booking.Status.CANCELLED: "CANCELLED",
}
STATUS_LABEL: dict[str, dict[str, str]] = {
    "en": {
        Booking.Status.REQUESTED: "awaiting approval",
        Booking.Status.APPROVED: "approved",
        Booking.Status.REJECTED: "rejected",
        Booking.Status.CANCELLED: "cancelled",
        Booking.Status.COMPLETED: "completed",
        Booking.Status.NO_SHOW: "no-show",
    },
    "zh-hans": {
        Booking.Status.REQUESTED: "待审批",
        Booking.Status.APPROVED: "已批准",
        Booking.Status.REJECTED: "已拒绝",
        Booking.Status.CANCELLED: "已取消",
        Booking.Status.COMPLETED: "已完成",
        Booking.Status.NO_SHOW: "未到场",
    },
}


def booking_uid(booking_id: int) -> str:
    return f"booking-{booking_id}@{UID_DOMAIN}"


def busy_uid(booking_id: int) -> str:
    # A different UID from the personal one: a public subscriber cannot match busy blocks to people's feeds.
    return f"busy-{booking_id}@{UID_DOMAIN}"


def closure_uid(closure_id: int) -> str:
    return f"closure-{closure_id}@{UID_DOMAIN}"


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(_tz())


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


_CONTROL = {c: None for c in range(32) if c not in (9, 10)} | {127: None}


def clean_text(text: str) -> str:
    """Free text without control characters (RFC 5545 TEXT allows none but tab and, escaped, newline)."""
    return text.replace("\r\n", "\n").translate(_CONTROL)


def _named(obj, field: str, language: str) -> str:
    """The Chinese name or city for a reader of Chinese, where the catalog has one; else the English."""
    chinese = getattr(obj, f"{field}_zh", "") if language != "en" else ""
    return chinese or getattr(obj, field)


def _label(language: str, status: str) -> str:
    return STATUS_LABEL.get(language, STATUS_LABEL["en"]).get(status, status)


def new_calendar(name: str, *, method: str | None = None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", settings.TIME_ZONE)
    # Before the events that refer to it: some clients read the file in one pass.
    cal.add_component(vtimezone(settings.TIME_ZONE))
    return cal


@lru_cache(maxsize=8)
def vtimezone(tzid: str) -> Timezone:
    """The zone's VTIMEZONE, computed once per process (about 0.3 s each time otherwise). Never mutated."""
    return Timezone.from_tzid(tzid, first_date=VTIMEZONE_FROM, last_date=VTIMEZONE_UNTIL)


def _finish(cal: Calendar) -> bytes:
    return cal.to_ical()


_END = b"END:VCALENDAR\r\n"


@lru_cache(maxsize=8)
def _vtimezone_ical(tzid: str) -> bytes:
    return vtimezone(tzid).to_ical()


def _assemble(name: str, events: list[bytes]) -> bytes:
    """A feed's text from already rendered VEVENTs: the same bytes as adding them to new_calendar(name)
    and serialising it, without serialising the VTIMEZONE or any unchanged event again."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", settings.TIME_ZONE)
    head = cal.to_ical()
    assert head.endswith(_END)
    return b"".join([head[: -len(_END)], _vtimezone_ical(settings.TIME_ZONE), *events, _END])


def _base_event(uid: str, start: dt.datetime, end: dt.datetime, *, stamp: dt.datetime, sequence: int) -> Event:
    ev = Event()
    ev.add("uid", uid)
    ev.add("dtstamp", _utc(stamp))
    ev.add("dtstart", _local(start))
    ev.add("dtend", _local(end))
    ev.add("sequence", sequence)
    return ev


def booking_event(booking: Booking, *, audience: str, language: str = "en") -> Event:
    """One booking as a VEVENT. audience: "requester" (their own booking), "manager" (the facility's
    view: who, from where, why), "public" (busy block only, no personal data)."""
    instrument = booking.instrument
    facility = instrument.facility
    status = ICAL_STATUS[booking.status]
    if audience == "public":
        ev = _base_event(
            busy_uid(booking.pk), booking.start, booking.hold_end, stamp=booking.updated_at, sequence=booking.sequence
        )
        ev.add("summary", "Booked" if language == "en" else "已预约")
        ev.add("class", "PUBLIC")
        ev.add("status", "CANCELLED" if booking.status in ENDED_STATUSES else "CONFIRMED")
        ev.add("transp", "TRANSPARENT" if booking.status in ENDED_STATUSES else "OPAQUE")
        ev.add("location", vText(f"{facility.code} {instrument.code}"))
        return ev
    ev = _base_event(
        booking_uid(booking.pk), booking.start, booking.end, stamp=booking.updated_at, sequence=booking.sequence
    )
    ev.add("created", _utc(booking.created_at))
    ev.add("last-modified", _utc(booking.updated_at))
    ev.add("status", status)
    ev.add("transp", "TRANSPARENT" if booking.status in ENDED_STATUSES else "OPAQUE")
    ev.add("class", "PRIVATE")
    where = f"{_named(facility, 'name', language)} — {_named(instrument, 'name', language)}"
    ev.add("location", vText(f"{where} ({_named(facility, 'city', language)})"))
    ev.add("categories", [facility.code])
    label = _label(language, booking.status)
    if audience == "manager":
        requester = booking.requester
        who = requester.get_full_name() or requester.username
        ev.add("summary", f"{instrument.code}: {who} ({booking.institution.code}) — {label}")
    else:
        ev.add("summary", f"{instrument.code} · {facility.code} — {label}")
    lines = [f"{_named(instrument, 'name', language)} ({facility.code} {instrument.code})", f"#{booking.pk}: {label}"]
    if booking.purpose:
        lines.append(booking.purpose)
    if booking.decision_reason and booking.status in (Booking.Status.REJECTED, Booking.Status.APPROVED):
        lines.append(booking.decision_reason)
    ev.add("description", clean_text("\n".join(lines)))
    page = settings.BOOKING_PAGE_URLS["manager" if audience == "manager" else "requester"].format(id=booking.pk)
    ev.add("url", settings.SITE_URL.rstrip("/") + page)
    return ev


def closure_event(closure: Closure, *, stamp: dt.datetime) -> Event:
    ev = _base_event(closure_uid(closure.pk), closure.start, closure.end, stamp=stamp, sequence=0)
    reason = f": {closure.reason}" if closure.reason else ""
    ev.add("summary", f"Closed ({closure.get_kind_display().lower()}){reason}")
    ev.add("class", "PUBLIC")
    ev.add("status", "CONFIRMED")
    ev.add("transp", "OPAQUE")
    return ev


# --- feeds ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Feed:
    body: bytes
    last_modified: dt.datetime

    @property
    def etag(self) -> str:
        return hashlib.sha256(self.body).hexdigest()[:40]


def _day_start(now: dt.datetime) -> dt.datetime:
    """Local midnight: feed windows move once a day, so content (and Last-Modified) is stable within one."""
    local = _local(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def in_window(qs: QuerySet[Booking], now: dt.datetime) -> QuerySet[Booking]:
    """Bookings that ended at most FEED_PAST_DAYS ago, and cancelled or rejected ones only while their
    end of life is recent (FEED_KEEP_CANCELLED_DAYS), so subscribers see them struck out, then gone."""
    day = _day_start(now)
    past = day - dt.timedelta(days=settings.FEED_PAST_DAYS)
    kept_since = day - dt.timedelta(days=settings.FEED_KEEP_CANCELLED_DAYS)
    return qs.filter(end__gt=past).filter(~Q(status__in=ENDED_STATUSES) | Q(updated_at__gte=kept_since))


def _last_modified(changes: list[dt.datetime], now: dt.datetime) -> dt.datetime:
    return max([_day_start(now), *changes])


def personal_feed(user: User, *, now: dt.datetime | None = None) -> Feed:
    """The user's own bookings (as requester)."""
    now = now or timezone.now()
    qs = in_window(Booking.objects.filter(requester=user), now)
    language = user.language or "en"
    name = f"Sanjiao — {user.get_full_name() or user.username}"

    def build() -> Feed:
        texts, changes = _events(qs, audience="requester", language=language, feed=("personal", user.pk))
        return Feed(_assemble(name, texts), _last_modified(changes, now))

    return _cached(("personal", user.pk, language, name), qs, now, build)


def facility_feed(facility: Facility, *, language: str = "en", now: dt.datetime | None = None) -> Feed:
    """Every booking at the facility, with who booked and why: for its managers only."""
    now = now or timezone.now()
    qs = in_window(Booking.objects.filter(instrument__facility=facility), now)
    # Closures change instruments' availability versions; their sum notices any closure edit.
    versions = Instrument.objects.filter(facility=facility).aggregate(v=Sum("availability_version"))["v"]

    def build() -> Feed:
        texts, changes = _events(qs, audience="manager", language=language, feed=("facility", facility.pk))
        closures = [closure_event(c, stamp=_day_start(now)).to_ical() for c in _closures(Q(facility=facility), now)]
        return Feed(_assemble(f"{facility.code} — Sanjiao", texts + closures), _last_modified(changes, now))

    return _cached(("facility", facility.pk, facility.code, language, versions), qs, now, build)


@dataclass(frozen=True)
class Window:
    """The half-open span [start, end) an instrument's public feed covers."""

    start: dt.datetime
    end: dt.datetime


def instrument_window(
    instrument: Instrument,
    *,
    first_day: dt.date | None = None,
    until_day: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Window:
    """By default from FEED_INSTRUMENT_PAST_DAYS before today to the end of the instrument's booking
    horizon (nothing can be booked later); a subscriber may ask for less: local days [first_day,
    until_day), clipped to the default. Whole local days, so the window moves once a day."""
    day = _day_start(now or timezone.now())
    earliest = day - dt.timedelta(days=settings.FEED_INSTRUMENT_PAST_DAYS)
    latest = day + dt.timedelta(days=instrument.horizon_days + 1)
    start, end = earliest, latest
    if first_day is not None:
        start = max(earliest, _midnight(first_day))
    if until_day is not None:
        end = min(latest, _midnight(until_day))
    return Window(start, max(start, end))


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=_tz())


def instrument_feed(instrument: Instrument, *, window: Window | None = None, now: dt.datetime | None = None) -> Feed:
    """Public busy times of one instrument in a window (instrument_window): bookings as anonymous blocks
    (changeover included) and closures, each shown when any of it falls inside the window."""
    now = now or timezone.now()
    window = window or instrument_window(instrument, now=now)
    statuses = [*HELD_STATUSES, Booking.Status.COMPLETED, Booking.Status.NO_SHOW, *ENDED_STATUSES]
    qs = in_window(Booking.objects.filter(instrument=instrument, status__in=statuses), now).filter(
        start__lt=window.end, hold_end__gt=window.start
    )

    def build() -> Feed:
        texts, changes = _events(
            qs, audience="public", language="en", feed=("instrument", instrument.pk, window.start, window.end)
        )
        scope = Q(facility_id=instrument.facility_id) & (Q(instrument__isnull=True) | Q(instrument=instrument))
        scope &= Q(start__lt=window.end, end__gt=window.start)
        closures = [closure_event(c, stamp=_day_start(now)).to_ical() for c in _closures(scope, now)]
        name = f"{instrument.facility.code} {instrument.code} — busy"
        return Feed(_assemble(name, texts + closures), _last_modified(changes, now))

    key = (
        "instrument",
        instrument.pk,
        instrument.code,
        instrument.facility.code,
        instrument.availability_version,
        window.start.isoformat(),
        window.end.isoformat(),
    )
    return _cached(key, qs, now, build)


def _cached(key: tuple, qs: QuerySet[Booking], now: dt.datetime, build) -> Feed:
    """Calendar clients poll the same feed again and again. So a built feed is kept in the cache under a
    fingerprint of its bookings (count, latest change, sequences, ids), the day and the settings, and
    rebuilt only when one of them moves; a rebuild renders only the bookings that changed (_events).
    Names of instruments or people changed elsewhere show after FEED_CACHE_SECONDS."""
    agg = qs.aggregate(n=Count("id"), latest=Max("updated_at"), seq=Sum("sequence"), ids=Sum("id"), top=Max("id"))
    fingerprint = (
        *key,
        agg["n"],
        agg["latest"].isoformat() if agg["latest"] else "",
        agg["seq"],
        agg["ids"],
        agg["top"],
        _day_start(now).isoformat(),
        settings.FEED_PAST_DAYS,
        settings.FEED_KEEP_CANCELLED_DAYS,
        settings.FEED_MAX_EVENTS,
        _links(),
    )
    cache_key = "sanjiao:feed:" + hashlib.sha256(repr(fingerprint).encode()).hexdigest()
    hit = cache.get(cache_key)
    if hit is not None:
        return Feed(*hit)
    feed = build()
    cache.set(cache_key, (feed.body, feed.last_modified), timeout=settings.FEED_CACHE_SECONDS)
    return feed


# What decides a booking's VEVENT text, besides the names of its instrument, facility and requester
# (which, as for whole feeds, show within FEED_CACHE_SECONDS) and the links' base (_links). Every save
# moves updated_at (a move, a decision, a new purpose); sequence and status guard writes that do not.
_VERSION_COLUMNS = ("id", "sequence", "status", "updated_at")
# Raise when booking_event writes anything differently, so no event text of the old form is reused.
EVENT_FORMAT = 1
_RELATED = {
    "requester": ("instrument", "instrument__facility"),
    "manager": ("instrument", "instrument__facility", "requester", "institution"),
    "public": ("instrument", "instrument__facility"),
}
_FETCH_CHUNK = 500


@lru_cache(maxsize=4)
def _links_of(site: str, pages: str) -> str:
    return hashlib.sha256(f"{site}|{pages}".encode()).hexdigest()[:12]


def _links() -> str:
    return _links_of(settings.SITE_URL, repr(sorted(settings.BOOKING_PAGE_URLS.items())))


def _events(
    qs: QuerySet[Booking], *, audience: str, language: str, feed: tuple
) -> tuple[list[bytes], list[dt.datetime]]:
    """The latest FEED_MAX_EVENTS bookings of qs, in time order, as VEVENT text, and their last changes.

    The feed's last rendered events are kept in the cache (one entry per feed: `feed` names it), each
    under its booking's version (id, sequence, status, last change). One light query lists the versions
    now; only bookings that are new or changed since are read in full and rendered (about a millisecond
    each), so a change to one booking of a busy feed costs one render, not a thousand."""
    rows = list(qs.order_by("-start", "-id").values_list(*_VERSION_COLUMNS)[: settings.FEED_MAX_EVENTS])
    rows.reverse()
    memo_key = (
        "sanjiao:feed-events:"
        + hashlib.sha256(repr((EVENT_FORMAT, _links(), audience, language, *feed)).encode()).hexdigest()
    )
    previous: dict[tuple, bytes] = cache.get(memo_key) or {}
    missing = [row[0] for row in rows if row not in previous]
    fresh: dict[int, tuple[tuple, bytes]] = {}
    for i in range(0, len(missing), _FETCH_CHUNK):
        chunk = Booking.objects.filter(pk__in=missing[i : i + _FETCH_CHUNK]).select_related(*_RELATED[audience])
        for b in chunk:
            # Under the version just read: a change since the light query renders what is now true.
            version = tuple(getattr(b, c) for c in _VERSION_COLUMNS)
            fresh[b.pk] = (version, booking_event(b, audience=audience, language=language).to_ical())
    current: dict[tuple, bytes] = {}
    for row in rows:
        if row in previous:
            current[row] = previous[row]
        elif row[0] in fresh:  # else deleted since the light query
            version, text = fresh[row[0]]
            current[version] = text
    if fresh or len(current) != len(previous):
        cache.set(memo_key, current, timeout=settings.FEED_CACHE_SECONDS)
    return list(current.values()), [row[3] for row in rows]


def _closures(scope: Q, now: dt.datetime) -> list[Closure]:
    past = _day_start(now) - dt.timedelta(days=settings.FEED_PAST_DAYS)
    return list(Closure.objects.filter(scope, end__gt=past).order_by("start", "id")[: settings.FEED_MAX_EVENTS])


# --- invitations (iTIP, RFC 5546) ---------------------------------------------------------------------


def invitation(booking: Booking, *, method: str, language: str = "en") -> bytes:
    """A METHOD:REQUEST (add or update) or METHOD:CANCEL message for the requester's calendar, with the
    same UID and SEQUENCE as the feeds use."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported iTIP method {method!r}")
    cal = new_calendar("Sanjiao", method=method)
    ev = booking_event(booking, audience="requester", language=language)
    if method == "CANCEL":
        ev["status"] = vText("CANCELLED")
    organizer = vCalAddress(f"mailto:{organizer_address()}")
    organizer.params["cn"] = vText(booking.instrument.facility.name)
    ev.add("organizer", organizer)
    requester = booking.requester
    if requester.email:
        attendee = vCalAddress(f"mailto:{requester.email}")
        attendee.params["cn"] = vText(requester.get_full_name() or requester.username)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("ACCEPTED")
        ev.add("attendee", attendee)
    cal.add_component(ev)
    return _finish(cal)


def organizer_address() -> str:
    """The bare address of DEFAULT_FROM_EMAIL ("Name <a@b>" → "a@b")."""
    from email.utils import parseaddr

    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "noreply@sanjiao.example"
