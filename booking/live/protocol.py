"""Reading what clients send over /ws/: every refusal is a sentence that says what to fix."""

import datetime as dt
import json
import time
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from common.parsing import is_id


class ProtocolError(Exception):
    """A client message that cannot be acted on; `str(error)` is what the client is told."""


@dataclass(frozen=True)
class Subscribe:
    instruments: list[int]
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class Unsubscribe:
    instruments: list[int]


def decode(text: str | None, binary: bytes | None) -> dict:
    if text is None:
        raise ProtocolError(_("Send JSON as text frames; binary frames are not understood."))
    limit = settings.LIVE_MAX_MESSAGE_BYTES
    if len(text) > limit or len(text.encode()) > limit:
        raise ProtocolError(_("Message too large: at most %(limit)s bytes.") % {"limit": limit})
    try:
        content = json.loads(text)
    except ValueError:
        raise ProtocolError(_("The message is not valid JSON.")) from None
    except RecursionError:  # a few thousand brackets fit in the size limit
        raise ProtocolError(_("The message is not valid JSON: it is nested too deeply.")) from None
    if not isinstance(content, dict):
        raise ProtocolError(_('A message is a JSON object with a "type".'))
    return content


def _instrument_ids(content: dict) -> list[int]:
    ids = content.get("instruments")
    if not isinstance(ids, list) or not ids:
        raise ProtocolError(_('"instruments" must be a non-empty list of instrument ids, e.g. [1, 2].'))
    if not all(is_id(i) for i in ids):
        raise ProtocolError(_('"instruments" must hold instrument ids: positive whole numbers.'))
    limit = settings.LIVE_MAX_INSTRUMENTS
    unique = list(dict.fromkeys(ids))
    if len(unique) > limit:
        raise ProtocolError(_("Too many instruments: at most %(limit)s per connection.") % {"limit": limit})
    return unique


def _moment(content: dict, name: str) -> dt.datetime:
    raw = content.get(name)
    if not isinstance(raw, str) or not raw:
        raise ProtocolError(
            _('"%(name)s" is required: an ISO 8601 time with offset, e.g. 2026-11-02T00:00:00+08:00.') % {"name": name}
        )
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ProtocolError(
            _('"%(name)s" is not an ISO 8601 time: %(raw)s.') % {"name": name, "raw": repr(raw[:40])}
        ) from None
    if value.tzinfo is None:
        raise ProtocolError(_('"%(name)s" must carry a UTC offset, e.g. +08:00.') % {"name": name})
    if not 2000 <= value.year <= 2200:
        raise ProtocolError(_('"%(name)s" must lie between the years 2000 and 2200.') % {"name": name})
    return value


def parse(content: dict) -> Subscribe | Unsubscribe:
    kind = content.get("type")
    if kind == "subscribe":
        ids = _instrument_ids(content)
        start, end = _moment(content, "start"), _moment(content, "end")
        if end <= start:
            raise ProtocolError(_('"end" must be after "start".'))
        days = settings.LIVE_MAX_WINDOW_DAYS
        if end - start > dt.timedelta(days=days):
            raise ProtocolError(_("Window too long: at most %(days)s days from start to end.") % {"days": days})
        return Subscribe(ids, start, end)
    if kind == "unsubscribe":
        return Unsubscribe(_instrument_ids(content))
    if not isinstance(kind, str):
        raise ProtocolError(_('A message needs a "type": "subscribe" or "unsubscribe".'))
    raise ProtocolError(
        _('Unknown message type %(kind)s: use "subscribe" or "unsubscribe".') % {"kind": repr(kind[:40])}
    )


class RateLimit:
    """A token bucket: `per_second` messages a second, bursts up to the same number."""

    def __init__(self, per_second: int) -> None:
        self.rate = float(max(per_second, 1))
        self.tokens = self.rate
        self.at = time.monotonic()
        self.warned_at = -1.0

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def should_warn(self) -> bool:
        """One error a second is enough to tell a flooding client; more would only feed the flood."""
        now = time.monotonic()
        if now - self.warned_at >= 1.0:
            self.warned_at = now
            return True
        return False
