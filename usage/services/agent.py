"""The instrument PC's agent or an interlock controller reports use over a signed HTTP API.

- Each instrument has its own key (usage.keys), issued and rotated by its managers and shown once.
- A request carries X-Sanjiao-Timestamp (Unix seconds) and X-Sanjiao-Signature (hex HMAC-SHA256 of
  timestamp "." body). A timestamp further than USAGE_AGENT_MAX_SKEW_SECONDS from the server's clock is
  refused; within that window the body's `nonce` is accepted once, so a replayed request is refused.
- The body is `{"nonce", "events": [{"id", "type": start|heartbeat|stop, "at", "user"?}]}`. Each event id
  counts once per instrument (a repeat is acknowledged and changes nothing), so an agent may resend
  whatever it is unsure of. Events may come late and in any order: the instrument's agent sessions are
  rebuilt from its events in order of time (`derive`), from the earliest one a request could change.
- A session whose heartbeats stop is closed at its last heartbeat: `derive` does it for what it
  rebuilds, and the periodic sweep (sweeps.close_silent_sessions) for sessions that simply fell silent.
"""

import datetime as dt
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.holds import lock_for_booking
from booking.models import Booking
from common.parsing import parse_aware
from facilities.models import Instrument, User

from .. import keys
from ..models import AgentEvent, AgentNonce, EndedBy, Source, UsageSession, UsageSettings
from .sessions import announce_use, may_manage

MAX_EVENTS = 500
KIND_ORDER: dict[str, int] = {AgentEvent.Kind.START: 0, AgentEvent.Kind.HEARTBEAT: 1, AgentEvent.Kind.STOP: 2}


def max_skew() -> dt.timedelta:
    return dt.timedelta(seconds=settings.USAGE_AGENT_MAX_SKEW_SECONDS)


def max_event_age() -> dt.timedelta:
    return dt.timedelta(days=settings.USAGE_AGENT_MAX_EVENT_AGE_DAYS)


def agent_key_rotate(*, actor: User, instrument: Instrument, now: dt.datetime | None = None) -> str:
    """Issue a new key for the instrument's agent (the old one stops working at once). Returns the key:
    it is shown this once and kept only encrypted."""
    if not may_manage(actor, instrument):
        raise PermissionDenied(
            _("Only the managers of %(code)s may issue its agents' keys.") % {"code": instrument.facility.code}
        )
    key = keys.new_key()
    with transaction.atomic():
        row, _created = UsageSettings.objects.select_for_update().get_or_create(instrument=instrument)
        row.agent_key_encrypted = keys.encrypt(key)
        row.agent_key_rotated_at = now or timezone.now()
        row.save(update_fields=["agent_key_encrypted", "agent_key_rotated_at"])
    return key


def agent_request_verify(
    *, instrument_id: int, timestamp: str, signature: str, body: bytes, now: dt.datetime | None = None
) -> Instrument:
    """The instrument whose key signed this request, or PermissionDenied saying why not."""
    now = now or timezone.now()
    row = UsageSettings.objects.select_related("instrument").filter(instrument_id=instrument_id).first()
    key = keys.decrypt(row.agent_key_encrypted) if row else None
    if row is None or key is None:
        raise PermissionDenied(_("This instrument has no agent key; its manager issues one."))
    try:
        sent = dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise PermissionDenied(_("X-Sanjiao-Timestamp must be the Unix time in seconds.")) from None
    if abs(now - sent) > max_skew():
        raise PermissionDenied(
            _("The request's timestamp is too far from the server's clock; sign it again now (and check the clock).")
        )
    if not signature or not keys.signature_matches(key, timestamp, body, signature):
        raise PermissionDenied(_("The signature does not match this instrument's key."))
    return row.instrument


@dataclass(frozen=True)
class Incoming:
    event_id: str
    kind: str
    at: dt.datetime
    username: str


def parse_body(body: bytes, now: dt.datetime) -> tuple[str, list[Incoming]]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError(_("The body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ValidationError(_("The body is a JSON object with a nonce and events."))
    nonce = data.get("nonce")
    if not isinstance(nonce, str) or not 8 <= len(nonce) <= 64:
        raise ValidationError({"nonce": _("A nonce is a string of 8 to 64 characters, new for every request.")})
    events = data.get("events")
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        raise ValidationError({"events": _("Send a list of 1 to %(max_events)s events.") % {"max_events": MAX_EVENTS}})
    parsed: list[Incoming] = []
    for i, raw in enumerate(events):
        where = f"events[{i}]"
        if not isinstance(raw, dict):
            raise ValidationError({where: _("An event is an object with id, type and at.")})
        event_id, kind, user = raw.get("id"), raw.get("type"), raw.get("user", "")
        if not isinstance(event_id, str) or not 1 <= len(event_id) <= 64:
            raise ValidationError({where: _("id is a string of 1 to 64 characters, unique per instrument.")})
        if kind not in KIND_ORDER:
            raise ValidationError({where: _("type is start, heartbeat or stop.")})
        if not isinstance(user, str) or len(user) > 150:
            raise ValidationError({where: _("user is a username.")})
        at = parse_aware(raw.get("at"), f"{where}.at")
        if at > now + max_skew():
            raise ValidationError({where: _("The event lies in the future; check the instrument PC's clock.")})
        if at < now - max_event_age():
            raise ValidationError(
                {
                    where: _("The event is older than %(days)s days; a manager records it.")
                    % {"days": max_event_age().days}
                }
            )
        parsed.append(Incoming(event_id, kind, at, user))
    return nonce, parsed


def agent_events_ingest(*, instrument: Instrument, body: bytes, now: dt.datetime | None = None) -> dict:
    """Apply a verified request's events. Returns {"accepted": [ids], "duplicates": [ids]}."""
    now = now or timezone.now()
    nonce, events = parse_body(body, now)
    with transaction.atomic():
        lock_for_booking(instrument_ids=[instrument.pk])
        if AgentNonce.objects.filter(instrument=instrument, nonce=nonce).exists():
            raise PermissionDenied(_("This request was already received (its nonce was used): a replay is refused."))
        AgentNonce.objects.create(instrument=instrument, nonce=nonce, received_at=now)
        ids = [e.event_id for e in events]
        known = AgentEvent.objects.filter(instrument=instrument, event_id__in=ids)
        seen = set(known.values_list("event_id", flat=True))
        fresh: dict[str, Incoming] = {}
        for e in events:
            if e.event_id not in seen:
                fresh.setdefault(e.event_id, e)
        AgentEvent.objects.bulk_create(
            [
                AgentEvent(instrument=instrument, event_id=e.event_id, kind=e.kind, at=e.at, username=e.username)
                for e in fresh.values()
            ]
        )
        if fresh:
            rebuild(instrument=instrument, since=min(e.at for e in fresh.values()), now=now)
    return {"accepted": list(fresh), "duplicates": [i for i in ids if i not in fresh]}


@dataclass
class Span:
    start: dt.datetime
    last_seen: dt.datetime
    username: str
    end: dt.datetime | None = None
    ended_by: str = ""
    users: set[str] = field(default_factory=set)


def derive(events: list[AgentEvent], *, timeout: dt.timedelta, now: dt.datetime) -> list[Span]:
    """Sessions from events in order of time: start (or a heartbeat with nothing open) opens one; a
    heartbeat extends it; stop ends it; a silence longer than `timeout` ends it at the last heartbeat."""
    spans: list[Span] = []
    current: Span | None = None
    for e in sorted(events, key=lambda e: (e.at, KIND_ORDER[e.kind], e.pk or 0)):
        if current is not None and e.at - current.last_seen > timeout:
            current.end, current.ended_by = current.last_seen, EndedBy.HEARTBEAT
            current = None
        if e.kind == AgentEvent.Kind.STOP:
            if current is not None:
                current.end, current.last_seen, current.ended_by = e.at, e.at, EndedBy.STOP
                current = None
            continue
        if current is None:
            current = Span(start=e.at, last_seen=e.at, username=e.username)
            spans.append(current)
        current.last_seen = max(current.last_seen, e.at)
        current.username = current.username or e.username
    if current is not None and now - current.last_seen > timeout:
        current.end, current.ended_by = current.last_seen, EndedBy.HEARTBEAT
    return spans


def _users(names: set[str]) -> dict[str, User]:
    return {u.username: u for u in User.objects.filter(username__in=names)}


def _booking_for(instrument: Instrument, start: dt.datetime, user: User | None, early: dt.timedelta) -> Booking | None:
    qs = Booking.objects.filter(
        instrument=instrument,
        status__in=(Booking.Status.APPROVED, Booking.Status.COMPLETED),
        start__lte=start + early,
        end__gt=start,
    )
    if user is not None:
        qs = qs.filter(requester=user)
    return qs.order_by("start").first()


def rebuild(*, instrument: Instrument, since: dt.datetime, now: dt.datetime) -> None:
    """Rebuild the instrument's agent sessions that events from `since` on could change. Under the
    instrument's lock. Sessions a manager corrected are left alone."""
    cfg = UsageSettings.for_instrument(instrument.pk)
    timeout = dt.timedelta(minutes=cfg.heartbeat_timeout_minutes)
    early = dt.timedelta(minutes=cfg.checkin_early_minutes)
    derived = UsageSession.objects.filter(instrument=instrument, source=Source.AGENT, corrected_at__isnull=True)
    # A session that ended within `timeout` before `since` could be extended by the new events.
    reach = Q(last_seen__gte=since - timeout) | Q(end__isnull=True)
    touched = list(derived.filter(reach).select_for_update().order_by("start", "id"))
    start_from = min([since, *(s.start for s in touched)])
    events = list(AgentEvent.objects.filter(instrument=instrument, at__gte=start_from))
    spans = derive(events, timeout=timeout, now=now)
    users = _users({s.username for s in spans if s.username})
    changed = False
    for i, span in enumerate(spans):
        user = users.get(span.username)
        booking = _booking_for(instrument, span.start, user, early)
        if user is None and booking is not None:
            user = booking.requester
        values = {
            "start": span.start,
            "end": span.end,
            "last_seen": span.last_seen,
            "ended_by": span.ended_by,
            "user": user,
            "booking": booking,
        }
        if i < len(touched):
            session = touched[i]
            before = (session.start, session.end, session.last_seen, session.user_id, session.booking_id)
            for name, value in values.items():
                setattr(session, name, value)
            if before != (session.start, session.end, session.last_seen, session.user_id, session.booking_id):
                session.save()
                changed = True
        else:
            UsageSession.objects.create(instrument=instrument, source=Source.AGENT, **values)
            changed = True
    for surplus in touched[len(spans) :]:
        surplus.delete()
        changed = True
    if changed:
        announce_use(instrument_id=instrument.pk, reason="usage_agent")


def instrument_for_agent(instrument_id: int) -> Instrument:
    instrument = Instrument.objects.filter(pk=instrument_id).first()
    if instrument is None:
        raise Http404(_("No such instrument."))
    return instrument
