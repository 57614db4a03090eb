"""The platform's clock: every time is aware and shown in Asia/Shanghai (+08:00)."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def iso_local(moment: dt.datetime) -> str:
    """ISO 8601 in the platform's time zone (+08:00), as every answer shows times."""
    return moment.astimezone(local_tz()).isoformat()
