"""Background work: sending mail and the periodic sweeps that beat schedules (config/settings.py).

Tasks take ids (never model instances), run after the commit that caused them, and are idempotent.
Each sweep selects by state and time — "everything due by now" — so a run that was missed is made up by
the next one, and two runs at once change nothing twice (each item goes through a locking service).
`now` may be passed as an ISO 8601 string, for tests and for replaying a sweep by hand.
"""

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from common.errors import Conflict

from .models import Booking
from .notifications import services as notify
from .services import booking_complete, booking_reject
from .services.idempotency import idempotency_records_expire

log = logging.getLogger(__name__)

EXPIRY_REASON = "not approved before the start"


def _now(now: str | dt.datetime | None) -> dt.datetime:
    if now is None:
        return timezone.now()
    value = parse_datetime(now) if isinstance(now, str) else now
    if value is None or timezone.is_naive(value):
        raise ValueError(f"now must be an aware ISO 8601 datetime, not {now!r}")
    return value


@shared_task(name="booking.tasks.send_booking_notification")
def send_booking_notification(kind: str, booking_id: int, sequence: int, recipient_id: int | None = None) -> dict:
    return notify.deliver_booking_notification(
        kind=kind, booking_id=booking_id, sequence=sequence, recipient_id=recipient_id
    )


@shared_task(name="booking.tasks.send_calendar_flag_notification")
def send_calendar_flag_notification(flag_id: int) -> dict:
    return notify.deliver_flag_notification(flag_id=flag_id)


@shared_task(name="booking.tasks.flag_calendar_change")
def flag_calendar_change(instrument_ids: list[int], start: str, end: str, cause: str) -> int:
    """Flag the held bookings a committed calendar change put in closed time (booking/services/flags.py).
    Idempotent: a booking with an open flag is left alone."""
    from .services.flags import flag_held_bookings

    flags = flag_held_bookings(instrument_ids=instrument_ids, start=_now(start), end=_now(end), cause=cause)
    return len(flags)


@shared_task(name="booking.tasks.send_waitlist_offer")
def send_waitlist_offer(entry_id: int) -> dict:
    return notify.deliver_waitlist_offer(entry_id=entry_id)


def _each(ids, action, what: str) -> int:
    done = 0
    for pk in ids:
        try:
            action(pk)
            done += 1
        except Conflict:
            pass  # decided by someone else since the query: nothing left to do
        except ValidationError as exc:
            log.warning("Could not %s booking #%s: %s", what, pk, exc)
        except Exception:
            # One broken row must not stop the sweep; it stays selected and is logged on every run.
            log.exception("Could not %s booking #%s", what, pk)
    return done


@shared_task(name="booking.tasks.expire_stale_requests")
def expire_stale_requests(now: str | None = None) -> int:
    """Reject (as the system) every request still unapproved when its start has come."""
    moment = _now(now)
    ids = list(
        Booking.objects.filter(status=Booking.Status.REQUESTED, start__lte=moment)
        .order_by("start", "pk")
        .values_list("pk", flat=True)
    )
    return _each(ids, lambda pk: booking_reject(actor=None, booking_id=pk, reason=EXPIRY_REASON), "expire")


@shared_task(name="booking.tasks.complete_ended_bookings")
def complete_ended_bookings(now: str | None = None) -> int:
    """Complete (as the system, with the booked times) every approved booking that ended at least
    AUTO_COMPLETE_AFTER_MINUTES ago; until then its managers may still record a no-show or actual times."""
    moment = _now(now)
    cutoff = moment - dt.timedelta(minutes=settings.AUTO_COMPLETE_AFTER_MINUTES)
    ids = list(
        Booking.objects.filter(status=Booking.Status.APPROVED, end__lte=cutoff)
        .order_by("end", "pk")
        .values_list("pk", flat=True)
    )
    return _each(ids, lambda pk: booking_complete(actor=None, booking_id=pk, now=moment), "complete")


@shared_task(name="booking.tasks.send_reminders")
def send_reminders(now: str | None = None) -> int:
    return notify.send_reminders(now=_now(now))


@shared_task(name="booking.tasks.send_manager_digests")
def send_manager_digests(now: str | None = None) -> int:
    return notify.send_manager_digests(now=_now(now))


@shared_task(name="booking.tasks.process_waitlist")
def process_waitlist(now: str | None = None) -> dict:
    """Offer slots that freed up without a signal being heard, and expire lapsed offers."""
    from .services.waitlist import waitlist_expire_offers

    return waitlist_expire_offers(_now(now))


@shared_task(name="booking.tasks.expire_idempotency_records")
def expire_idempotency_records(now: str | None = None) -> int:
    return idempotency_records_expire(now=_now(now))


@shared_task(name="booking.tasks.retry_failed_notifications")
def retry_failed_notifications(now: str | None = None) -> int:
    return notify.retry_failed_notifications(now=_now(now))
