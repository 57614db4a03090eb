"""Signal receivers that turn committed changes into live updates (connected in BookingConfig.ready).

`availability_changed` says which instrument changed and to which version, not where in time. The
booking hooks sent inside the transaction (`booking_created`, `booking_transitioned`) do know the
booking's span, so they note it here and the after-commit receiver picks it up: that is how an
approval, which leaves the public busy list as it was, still reaches the subscribers whose window
holds the booking. For other changes (closures) the busy list itself shows what changed, so they
travel with no spans.
"""

import threading
import time

from django.dispatch import receiver

from facilities.signals import availability_changed, credentials_changed

from ..signals import booking_changed, booking_created, booking_transitioned
from .publish import publish_availability, publish_booking_event, publish_session_end
from .state import to_us

# A note older than this belongs to a transaction that rolled back; forget it.
NOTE_TTL_SECONDS = 60.0

_notes = threading.local()


def _pending() -> dict[int, list[tuple[float, int, int]]]:
    pending = getattr(_notes, "pending", None)
    if pending is None:
        pending = _notes.pending = {}
    return pending


def note_touched(instrument_id: int, start, end) -> None:
    pending = _pending()
    if len(pending) > 1000:  # only rolled-back leftovers pile up like this
        pending.clear()
    pending.setdefault(instrument_id, []).append((time.monotonic(), to_us(start), to_us(end)))


def take_touched(instrument_id: int) -> list[tuple[int, int]]:
    notes = _pending().pop(instrument_id, None) or []
    fresh = time.monotonic() - NOTE_TTL_SECONDS
    return [(s, e) for at, s, e in notes if at >= fresh]


@receiver(booking_created, dispatch_uid="live.note_created")
def _note_created(sender, booking, **kwargs) -> None:
    note_touched(booking.instrument_id, booking.start, booking.hold_end)


@receiver(booking_transitioned, dispatch_uid="live.note_transitioned")
def _note_transitioned(sender, booking, **kwargs) -> None:
    note_touched(booking.instrument_id, booking.start, booking.hold_end)


@receiver(availability_changed, dispatch_uid="live.publish_availability")
def _publish_availability(sender, instrument_id, version, reason="", **kwargs) -> None:
    publish_availability(instrument_id, version, take_touched(instrument_id))


@receiver(booking_changed, dispatch_uid="live.publish_booking")
def _publish_booking(sender, booking_id, facility_id, requester_id, event, **kwargs) -> None:
    publish_booking_event(booking_id=booking_id, facility_id=facility_id, requester_id=requester_id, event=event)


@receiver(credentials_changed, dispatch_uid="live.close_sessions")
def _close_sessions(sender, user_id, reason, session_key=None, **kwargs) -> None:
    publish_session_end(user_id=user_id, session_key=session_key, reason=reason)
