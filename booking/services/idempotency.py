"""Idempotency records are promises for a while, not forever: a client that lost an answer repeats
its request within minutes, not months. Records older than IDEMPOTENCY_KEEP_HOURS are removed by a
periodic job; after that the same key starts a new request."""

import datetime as dt

from django.conf import settings

from ..models import IdempotencyRecord


def idempotency_records_expire(*, now: dt.datetime) -> int:
    """Delete the records made before now − IDEMPOTENCY_KEEP_HOURS; returns how many went."""
    cutoff = now - dt.timedelta(hours=settings.IDEMPOTENCY_KEEP_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
