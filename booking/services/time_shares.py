"""Time shares of co-built instruments.

A partner institution keeps `percent` of an instrument's available hours in each calendar quarter;
the rest is the open share, for everyone. A partner's use counts first against its own share and
overflows into the open share; everyone else draws on the open share only. A booking that crosses a
quarter boundary is counted in each quarter for the part that falls in it.
"""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from common.time import local_tz
from facilities.calendar import closed_spans
from facilities.models import Institution, Instrument, TimeShare

from ..models import Booking

COUNTED_STATUSES = (Booking.Status.REQUESTED, Booking.Status.APPROVED, Booking.Status.COMPLETED, Booking.Status.NO_SHOW)


def quarter_bounds(moment: dt.datetime) -> tuple[dt.datetime, dt.datetime, str]:
    tz = local_tz()
    local = moment.astimezone(tz)
    q = (local.month - 1) // 3
    start = dt.datetime(local.year, 3 * q + 1, 1, tzinfo=tz)
    end = dt.datetime(local.year + (q == 3), (3 * q + 3) % 12 + 1, 1, tzinfo=tz)
    return start, end, f"{local.year}-Q{q + 1}"


def _minutes(a: dt.datetime, b: dt.datetime) -> int:
    return int((b - a).total_seconds() // 60)


def quarter_share_status(
    instrument: Instrument, quarter_start: dt.datetime, quarter_end: dt.datetime, exclude_ids=()
) -> dict:
    """Minutes available, reserved per partner, open, and used per institution in one quarter
    (`exclude_ids`: bookings not to count, e.g. the one being moved)."""
    closed = closed_spans(instrument, quarter_start, quarter_end)
    available = _minutes(quarter_start, quarter_end) - sum(_minutes(s, e) for s, e in closed)
    shares = {ts.institution_id: ts.percent for ts in TimeShare.objects.filter(instrument=instrument)}
    reserved = {pk: int(Decimal(available) * pct / 100) for pk, pct in shares.items()}
    open_total = available - sum(reserved.values())
    used: dict[int, int] = {}
    for inst_id, s, e in (
        Booking.objects.filter(
            instrument=instrument, status__in=COUNTED_STATUSES, start__lt=quarter_end, end__gt=quarter_start
        )
        .exclude(pk__in=exclude_ids)
        .values_list("institution_id", "start", "end")
    ):
        used[inst_id] = used.get(inst_id, 0) + _minutes(max(s, quarter_start), min(e, quarter_end))
    open_used = sum(m for pk, m in used.items() if pk not in shares) + sum(
        max(0, used.get(pk, 0) - reserved[pk]) for pk in shares
    )
    return {
        "available": available,
        "reserved": reserved,
        "open_total": open_total,
        "open_used": open_used,
        "used": used,
    }


def minutes_left(status: dict, institution_id: int) -> int:
    open_left = max(0, status["open_total"] - status["open_used"])
    if institution_id in status["reserved"]:
        own_left = max(0, status["reserved"][institution_id] - status["used"].get(institution_id, 0))
        return own_left + open_left
    return open_left


def check_time_share(
    *, instrument: Instrument, institution: Institution, start: dt.datetime, end: dt.datetime, exclude_ids=()
) -> None:
    """Refuse a booking that would take more than the requester's institution may still use in a quarter.
    Runs under the instrument's lock, so concurrent requests see each other's hours."""
    if not TimeShare.objects.filter(instrument=instrument).exists():
        return
    cursor = start
    while cursor < end:
        q_start, q_end, label = quarter_bounds(cursor)
        part_end = min(end, q_end)
        status = quarter_share_status(instrument, q_start, q_end, exclude_ids)
        left = minutes_left(status, institution.pk)
        if _minutes(cursor, part_end) > left:
            partner = institution.pk in status["reserved"]
            pool = _("your institution's partner share and the open share") if partner else _("the open share")
            raise ValidationError(
                _(
                    "Time share: %(code)s reserves part of its hours for co-building partners; in %(quarter)s "
                    "%(left)s hours are left in %(pool)s, and this booking needs %(needs)s."
                )
                % {
                    "code": instrument.code,
                    "quarter": label,
                    "left": f"{left / 60:.1f}",
                    "pool": pool,
                    "needs": f"{_minutes(cursor, part_end) / 60:.1f}",
                }
            )
        cursor = part_end
