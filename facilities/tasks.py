"""Periodic work of the catalog (Celery beat, config/settings.py CELERY_BEAT_SCHEDULE)."""

import datetime as dt

from celery import shared_task

from . import services


@shared_task(name="facilities.tasks.remind_lapsing_qualifications")
def remind_lapsing_qualifications(now: str | None = None, qualification_ids: list[int] | None = None) -> int:
    """Remind every holder whose qualification lapses soon, once per expiry; `now` (ISO 8601 with an
    offset) replays a run by hand, `qualification_ids` limits it. Idempotent."""
    moment = dt.datetime.fromisoformat(now) if now else None
    if moment is not None and moment.tzinfo is None:
        raise ValueError("now must carry a UTC offset")
    return services.remind_lapsing_qualifications(now=moment, qualification_ids=qualification_ids)
