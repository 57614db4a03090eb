"""The late-cancellation window: billing's, when billing defines one, so that the report counts exactly
the cancellations billing treats as late; else REPORTS_LATE_CANCELLATION_HOURS (24 h)."""

import datetime as dt

from django.conf import settings


def late_cancellation_window() -> dt.timedelta:
    try:
        from billing import policy as billing_policy  # billing sits below reports: reading it is allowed
    except ImportError:
        billing_policy = None
    window = getattr(billing_policy, "LATE_CANCELLATION_WINDOW", None)
    if isinstance(window, dt.timedelta):
        return window
    return dt.timedelta(hours=getattr(settings, "REPORTS_LATE_CANCELLATION_HOURS", 24))
