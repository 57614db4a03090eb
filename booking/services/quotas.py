"""How much of an instrument one person, and one research group, may hold."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from common.time import local_tz
from facilities.models import GroupHourLimit, GroupMember, Instrument, ResearchGroup, User

from ..models import Booking


def check_future_limit(*, instrument: Instrument, requester: User, now: dt.datetime, adding: int = 1) -> None:
    """Runs under the instrument's lock, so two requests of one person cannot both take the last place."""
    if instrument.max_future_bookings is None:
        return
    upcoming = Booking.objects.held().filter(instrument=instrument, requester=requester, end__gt=now).count()
    if upcoming + adding > instrument.max_future_bookings:
        raise ValidationError(
            _("Maximum future bookings: you may hold at most %(limit)d upcoming bookings of %(code)s; you hold %(n)d.")
            % {"limit": instrument.max_future_bookings, "code": instrument.code, "n": upcoming}
        )


def period_bounds(moment: dt.datetime, period: str) -> tuple[dt.datetime, dt.datetime]:
    """The calendar month or quarter (Asia/Shanghai) that contains `moment`, as a half-open interval."""
    local = moment.astimezone(local_tz())
    first_month = local.month if period == GroupHourLimit.Period.MONTH else 3 * ((local.month - 1) // 3) + 1
    months = 1 if period == GroupHourLimit.Period.MONTH else 3
    start = dt.datetime(local.year, first_month, 1, tzinfo=local_tz())
    end_year, end_month = divmod(first_month - 1 + months, 12)
    end = dt.datetime(local.year + end_year, end_month + 1, 1, tzinfo=local_tz())
    return start, end


def group_people_ids(group_id: int) -> set[int]:
    group = ResearchGroup.objects.only("leader_id").get(pk=group_id)
    return {group.leader_id, *GroupMember.objects.filter(group_id=group_id).values_list("user_id", flat=True)}


def check_group_limits(
    *, instrument: Instrument, requester: User, start: dt.datetime, end: dt.datetime, exclude_ids=()
) -> None:
    """Runs under the instrument's lock (every limit is on one instrument), so two members of a group
    cannot both take the group's last hours. A booking counts in the month or quarter in which it starts."""
    limits = (
        GroupHourLimit.objects.filter(instrument=instrument)
        .filter(Q(group__leader=requester) | Q(group__members__user=requester))
        .select_related("group")
        .distinct()
        .order_by("group__name", "period")
    )
    asked = end - start
    for limit in limits:
        period_start, period_end = period_bounds(start, limit.period)
        spans = (
            Booking.objects.held()
            .filter(instrument=instrument, requester_id__in=group_people_ids(limit.group_id))
            .filter(start__gte=period_start, start__lt=period_end)
            .exclude(pk__in=list(exclude_ids))
            .values_list("start", "end")
        )
        held = sum((e - s for s, e in spans), dt.timedelta())
        if held + asked > dt.timedelta(hours=limit.max_hours):
            used = held.total_seconds() / 3600
            raise ValidationError(
                _(
                    "Group limit: the research group %(group)s may hold at most %(max)s hours of %(instrument)s "
                    "per %(period)s; it holds %(used)s hours in that %(period)s."
                )
                % {
                    "group": limit.group.name,
                    "max": limit.max_hours,
                    "instrument": instrument.code,
                    "period": limit.get_period_display(),
                    "used": f"{used:g}",
                }
            )
