"""Periodic tasks of actual use (beat schedule in config/settings.py). They take no ids, work from state
and time, and are idempotent; `now` may be given as an ISO 8601 string for tests and replays."""

from celery import shared_task
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .services import close_silent_sessions, release_no_shows


def _now(now: str | None):
    if now is None:
        return timezone.now()
    value = parse_datetime(now)
    if value is None or timezone.is_naive(value):
        raise ValueError(f"now must be an aware ISO 8601 datetime, not {now!r}")
    return value


@shared_task(name="usage.tasks.close_silent_sessions")
def close_silent_sessions_task(now: str | None = None) -> int:
    return close_silent_sessions(now=_now(now))


@shared_task(name="usage.tasks.release_no_shows")
def release_no_shows_task(now: str | None = None) -> int:
    return release_no_shows(now=_now(now))


@shared_task(name="usage.tasks.send_suspension_notice")
def send_suspension_notice(suspension_id: int, event: str) -> bool:
    """Tell the user their booking at a facility is suspended, or how their appeal was decided."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.utils.translation import gettext as _

    from .models import Suspension

    s = Suspension.objects.select_related("user", "facility").filter(pk=suspension_id).first()
    if s is None or not s.user.email:
        return False
    until = timezone.localtime(s.ends_at).strftime("%Y-%m-%d %H:%M")
    if event == "suspended":
        subject = _("Booking at %(facility)s suspended") % {"facility": s.facility.code}
        body = _(
            "Booking at %(facility)s is suspended for you until %(until)s (%(reason)s). "
            "You may appeal to the facility's managers."
        ) % {"facility": s.facility.code, "until": until, "reason": s.reason}
    else:
        subject = _("Your appeal at %(facility)s was decided") % {"facility": s.facility.code}
        body = _("Decision: %(decision)s. %(reason)s Booking is suspended until %(until)s.") % {
            "decision": s.get_appeal_display(),
            "reason": s.decision_reason,
            "until": until,
        }
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [s.user.email])
    return True
