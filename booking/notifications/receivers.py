"""Booking and waitlist signals → sending tasks, enqueued only once the change is committed.

booking_changed already arrives after commit; going through transaction.on_commit anyway keeps that
true if a sender ever announces from inside a transaction: a rolled-back change mails nobody. Nothing
here may raise: the change it reports has already happened, and a mail problem must not turn the
caller's success into an error (the retry sweep and the periodic jobs make up for a lost enqueue).
"""

import logging
from functools import partial

from django.db import transaction
from django.dispatch import receiver

from ..models import Booking
from ..signals import booking_changed, calendar_flag_changed, waitlist_offered
from .services import kinds_for_event

log = logging.getLogger(__name__)


def enqueue(task, **kwargs) -> None:
    transaction.on_commit(partial(_send_task, task, kwargs))


def _send_task(task, kwargs: dict) -> None:
    try:
        task.delay(**kwargs)
    except Exception:
        log.exception("Could not enqueue %s(%s); the periodic jobs will catch up.", task.name, kwargs)


@receiver(booking_changed, dispatch_uid="notifications_on_booking_changed")
def on_booking_changed(sender, booking_id, event, status, **kwargs):
    from ..tasks import send_booking_notification

    try:
        kinds = kinds_for_event(event, status)
        if not kinds:
            return
        sequence = kwargs.get("sequence")
        if sequence is None:
            sequence = Booking.objects.filter(pk=booking_id).values_list("sequence", flat=True).first()
        if sequence is None:
            return
        for kind in kinds:
            enqueue(send_booking_notification, kind=str(kind), booking_id=booking_id, sequence=sequence)
    except Exception:
        log.exception("Notifications for booking #%s (%s) were not enqueued.", booking_id, event)


@receiver(waitlist_offered, dispatch_uid="notifications_on_waitlist_offered")
def on_waitlist_offered(sender, entry_id, **kwargs):
    from ..tasks import send_waitlist_offer

    enqueue(send_waitlist_offer, entry_id=entry_id)


@receiver(calendar_flag_changed, dispatch_uid="notifications_on_calendar_flag_changed")
def on_calendar_flag_changed(sender, flag_id, **kwargs):
    from ..tasks import send_calendar_flag_notification

    enqueue(send_calendar_flag_notification, flag_id=flag_id)
