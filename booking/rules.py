"""The booking rules of an instrument. Each refusal is a ValidationError whose message names the rule
and its limit, in words a researcher understands."""

import datetime as dt
from collections.abc import Iterable
from typing import cast

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from common.intervals import overlaps
from common.time import local_tz
from facilities.calendar import closure_reasons
from facilities.models import Facility, Instrument, User
from facilities.selectors import is_qualified, qualified_instrument_ids, researcher_institution

from .signals import requester_barred, validate_requester

MAX_PURPOSE_LENGTH = 2000


def _fmt_minutes(minutes: int) -> str:
    """A duration in the active language ("2 hours", "2 小时")."""
    if minutes % 1440 == 0:
        days = minutes // 1440
        return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


def check_purpose(purpose: str) -> None:
    if len(purpose) > MAX_PURPOSE_LENGTH:
        raise ValidationError(
            {"purpose": _("The purpose may be at most %(n)d characters long.") % {"n": MAX_PURPOSE_LENGTH}}
        )


def check_times(start: dt.datetime, end: dt.datetime) -> None:
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValidationError(_("Times must carry a UTC offset, e.g. 2026-12-01T09:00:00+08:00."))
    if end <= start:
        raise ValidationError({"end": _("The end must be after the start.")})


def check_static_rules(*, instrument: Instrument, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> None:
    """Rules that depend only on the instrument and the request, not on other bookings, in the order
    docs/booking.md gives: open for booking, unit, duration, lead time, horizon, then operating hours
    and closures (the only ones that read the calendar)."""
    check_times(start, end)
    if not open_for_booking(instrument):
        raise ValidationError({"instrument": _("%(code)s is not open for booking.") % {"code": instrument.code}})
    unit = instrument.booking_unit_minutes
    tz = local_tz()
    for name, moment in (("start", start), ("end", end)):
        local = moment.astimezone(tz)
        if local.second or local.microsecond or (local.hour * 60 + local.minute) % unit:
            message = (
                _(
                    "Booking unit: %(code)s is booked in blocks of %(unit)s counted from midnight (Asia/Shanghai), "
                    "so the start must fall on such a boundary."
                )
                if name == "start"
                else _(
                    "Booking unit: %(code)s is booked in blocks of %(unit)s counted from midnight (Asia/Shanghai), "
                    "so the end must fall on such a boundary."
                )
            )
            raise ValidationError({name: message % {"code": instrument.code, "unit": _fmt_minutes(unit)}})
    minutes = int((end - start).total_seconds() // 60)
    if minutes < instrument.min_minutes:
        raise ValidationError(
            _("Minimum duration: %(code)s must be booked for at least %(limit)s.")
            % {"code": instrument.code, "limit": _fmt_minutes(instrument.min_minutes)}
        )
    if minutes > instrument.max_minutes:
        raise ValidationError(
            _("Maximum duration: %(code)s may be booked for at most %(limit)s at a time.")
            % {"code": instrument.code, "limit": _fmt_minutes(instrument.max_minutes)}
        )
    if start < now:
        raise ValidationError({"start": _("The start is in the past.")})
    if start < now + dt.timedelta(minutes=instrument.lead_time_minutes):
        raise ValidationError(
            _("Lead time: %(code)s must be booked at least %(limit)s before the start.")
            % {"code": instrument.code, "limit": _fmt_minutes(instrument.lead_time_minutes)}
        )
    if start > now + dt.timedelta(days=instrument.horizon_days):
        raise ValidationError(
            _("Booking horizon: %(code)s can be booked at most %(days)d days ahead.")
            % {"code": instrument.code, "days": instrument.horizon_days}
        )
    check_open(instrument=instrument, start=start, end=end)


def open_for_booking(instrument: Instrument) -> bool:
    """The first rule of `check_static_rules`: the instrument is active and its facility operating."""
    return instrument.active and instrument.facility.status == Facility.Status.OPERATING


def check_open(*, instrument: Instrument, start: dt.datetime, end: dt.datetime) -> None:
    reasons = [why for span, why in closure_reasons(instrument, start, end) if overlaps(span, (start, end))]
    if reasons:
        raise ValidationError(
            _("Operating hours: %(code)s cannot be booked then because %(reason)s.")
            % {"code": instrument.code, "reason": reasons[0]}
        )


def lacks_qualification(instrument: Instrument, *, qualified: bool) -> bool:
    return instrument.requires_qualification and not qualified


def check_qualification(*, instrument: Instrument, requester: User) -> None:
    """Who may book the instrument: qualified (when it asks for that), then in good standing — the
    layers above answer the `validate_requester` hook (usage: a suspension after violations)."""
    if lacks_qualification(instrument, qualified=is_qualified(user=requester, instrument=instrument)):
        raise ValidationError(
            _(
                "Qualification: %(code)s may only be booked by users its facility managers have qualified; "
                "ask a manager of the facility to qualify you."
            )
            % {"code": instrument.code}
        )
    validate_requester.send(sender=Instrument, requester=requester, instrument=instrument)


def bookable_by(*, requester, instruments) -> set[int]:
    """The ids of those of `instruments` that `requester` may book at some time ("bookable by me"): the
    checks a booking request makes of who asks, without a time — a researcher role (the institution a
    booking is made for, `booking.services.requests.requester_institution`), open for booking
    (`open_for_booking`), qualified when the instrument asks for it and in good standing
    (`check_qualification`; the layers above answer `requester_barred`, the many-instrument form of
    `validate_requester`). At most three queries plus one per hook receiver, however many instruments."""
    if not getattr(requester, "is_authenticated", False) or researcher_institution(requester) is None:
        return set()
    candidates = [i for i in instruments if open_for_booking(i)]
    qualified = qualified_instrument_ids(
        user=requester, instrument_ids=[i.pk for i in candidates if i.requires_qualification]
    )
    candidates = [i for i in candidates if not lacks_qualification(i, qualified=i.pk in qualified)]
    barred: set[int] = set()
    if candidates:
        for _receiver, answer in requester_barred.send(sender=Instrument, requester=requester, instruments=candidates):
            barred |= set(cast(Iterable[int], answer or ()))
    return {i.pk for i in candidates} - barred


def on_bookable_asked(sender, *, requester, instruments, **kwargs) -> set[int]:
    """The catalog's `bookable_asked` hook: `bookable_by`."""
    return bookable_by(requester=requester, instruments=instruments)
