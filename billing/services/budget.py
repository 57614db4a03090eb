"""Refusing splits an account cannot pay: past its validity, or beyond its budget cap.

The budget an account has left = cap − what it has been charged − the estimated fee of its bookings
still held (booked time × their fixed rate × its percent). A new booking's estimate uses the rate its
requester would be fixed at now, before any subsidy or voucher, so the check errs on the safe side."""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.holds import HELD_STATUSES
from booking.models import BookingSplit
from booking.services.quotas import group_people_ids, period_bounds
from common.time import local_tz
from facilities.models import FundingAccount, GroupSpendingLimit, Institution, Instrument, User

from ..models import ChargeLine
from ..money import ZERO, yuan
from .fees import time_fee
from .rates import published_rate, user_class_for


def _minutes(start: dt.datetime, end: dt.datetime) -> int:
    return int((end - start).total_seconds() // 60)


def committed(*, account: FundingAccount, exclude_booking_id: int | None = None) -> Decimal:
    """Charged so far plus the estimate of held bookings (other than `exclude_booking_id`)."""
    charged = ChargeLine.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] or ZERO
    splits = BookingSplit.objects.filter(account=account, booking__status__in=HELD_STATUSES)
    if exclude_booking_id is not None:
        splits = splits.exclude(booking_id=exclude_booking_id)
    held = splits.values_list("booking__start", "booking__end", "percent", "booking__rate_snapshot__hourly_rate")
    estimate = sum((time_fee(rate or ZERO, _minutes(s, e)) * pct / 100 for s, e, pct, rate in held), ZERO)
    return yuan(charged + estimate)


def check_splits(
    *,
    institution: Institution | None,
    instrument: Instrument,
    start: dt.datetime,
    end: dt.datetime,
    splits,
    exclude_booking_id: int | None = None,
) -> None:
    """Raise ValidationError naming the account when one cannot carry its share."""
    if not splits:
        return
    accounts = {s.account_id: s.account for s in splits}
    end_day = timezone.localtime(end, local_tz()).date()
    estimate = None
    for spec in splits:
        account = accounts.get(spec.account_id)
        if account is None:
            continue
        if account.valid_until < end_day:
            raise ValidationError(
                {
                    "splits": _("Account %(code)s expires on %(until)s, before this booking ends on %(end)s.")
                    % {"code": account.code, "until": account.valid_until, "end": end_day}
                }
            )
        if account.budget_cap is None:
            continue
        if estimate is None:
            rate = Decimal("0")
            if institution is not None:
                klass = user_class_for(institution=institution, facility=instrument.facility)
                rate = published_rate(instrument_id=instrument.pk, user_class=klass) or Decimal("0")
            estimate = time_fee(rate, _minutes(start, end))
        share = yuan(estimate * spec.percent / 100)
        remaining = account.budget_cap - committed(account=account, exclude_booking_id=exclude_booking_id)
        if share > remaining:
            raise ValidationError(
                {
                    "splits": _(
                        "Account %(code)s has %(left)s CNY of its %(cap)s CNY budget left; its share of this "
                        "booking is estimated at %(share)s CNY."
                    )
                    % {
                        "code": account.code,
                        "left": f"{max(remaining, ZERO):.2f}",
                        "cap": f"{account.budget_cap:.2f}",
                        "share": f"{share:.2f}",
                    }
                }
            )


def group_month_spent(
    *, limit: GroupSpendingLimit, start: dt.datetime, exclude_booking_id: int | None = None
) -> Decimal:
    """What the group's people put on the limit's account in the month of `start`: charged in that month
    plus the estimate of their held bookings that start in it (other than `exclude_booking_id`)."""
    people = group_people_ids(limit.group_id)
    month_start, month_end = period_bounds(start, "month")
    charged = (
        ChargeLine.objects.filter(
            account_id=limit.account_id, period=month_start.strftime("%Y-%m"), booking__requester_id__in=people
        ).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    splits = BookingSplit.objects.filter(
        account_id=limit.account_id,
        booking__status__in=HELD_STATUSES,
        booking__requester_id__in=people,
        booking__start__gte=month_start,
        booking__start__lt=month_end,
    )
    if exclude_booking_id is not None:
        splits = splits.exclude(booking_id=exclude_booking_id)
    held = splits.values_list("booking__start", "booking__end", "percent", "booking__rate_snapshot__hourly_rate")
    estimate = sum((time_fee(rate or ZERO, _minutes(s, e)) * pct / 100 for s, e, pct, rate in held), ZERO)
    return yuan(charged + estimate)


def check_group_spending(
    *,
    requester: User,
    institution: Institution | None,
    instrument: Instrument,
    start: dt.datetime,
    end: dt.datetime,
    splits,
    exclude_booking_id: int | None = None,
) -> None:
    """Under the lock on the limited accounts (booking.holds.lock_for_booking): refuse a share that would
    take a research group of the requester past its monthly spending limit on that account."""
    if not splits:
        return
    shares = {s.account_id: s.percent for s in splits}
    limits = (
        GroupSpendingLimit.objects.filter(account_id__in=list(shares))
        .filter(Q(group__leader=requester) | Q(group__members__user=requester))
        .select_related("group", "account")
        .distinct()
        .order_by("group__name", "account__code")
    )
    estimate = None
    for limit in limits:
        if estimate is None:
            rate = Decimal("0")
            if institution is not None:
                klass = user_class_for(institution=institution, facility=instrument.facility)
                rate = published_rate(instrument_id=instrument.pk, user_class=klass) or Decimal("0")
            estimate = time_fee(rate, _minutes(start, end))
        share = yuan(estimate * shares[limit.account_id] / 100)
        spent = group_month_spent(limit=limit, start=start, exclude_booking_id=exclude_booking_id)
        if spent + share > limit.max_amount:
            raise ValidationError(
                {
                    "splits": _(
                        "Group spending limit: the research group %(group)s may spend at most %(max)s CNY a month "
                        "on account %(account)s; it has %(left)s CNY left this month and this booking's share is "
                        "estimated at %(share)s CNY."
                    )
                    % {
                        "group": limit.group.name,
                        "max": f"{limit.max_amount:.2f}",
                        "account": limit.account.code,
                        "left": f"{max(limit.max_amount - spent, ZERO):.2f}",
                        "share": f"{share:.2f}",
                    }
                }
            )
