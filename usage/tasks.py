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
