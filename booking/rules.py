"""The booking rules of an instrument. Each refusal is a ValidationError whose message names the rule
and its limit, in words a researcher understands."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone

from common.intervals import overlaps
from common.time import local_tz
from facilities.calendar import closure_reasons
from facilities.models import Facility, Instrument, User
from facilities.selectors import is_qualified

from .signals import validate_requester

MAX_PURPOSE_LENGTH = 2000


def _fmt_minutes(minutes: int) -> str:
    if minutes % 1440 == 0:
        days = minutes // 1440
        return f"{days} day" + ("s" if days != 1 else "")
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour" + ("s" if hours != 1 else "")
    return f"{minutes} minutes"


def check_purpose(purpose: str) -> None:
    if len(purpose) > MAX_PURPOSE_LENGTH:
        raise ValidationError({"purpose": f"The purpose may be at most {MAX_PURPOSE_LENGTH} characters long."})


def check_times(start: dt.datetime, end: dt.datetime) -> None:
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValidationError("Times must carry a UTC offset, e.g. 2026-12-01T09:00:00+08:00.")
    if end <= start:
        raise ValidationError({"end": "The end must be after the start."})


def check_static_rules(*, instrument: Instrument, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> None:
    """Rules that depend only on the instrument and the request, not on other bookings, in the order
    docs/booking.md gives: open for booking, unit, duration, lead time, horizon, then operating hours
    and closures (the only ones that read the calendar)."""
    check_times(start, end)
    if not instrument.active or instrument.facility.status != Facility.Status.OPERATING:
        raise ValidationError({"instrument": f"{instrument.code} is not open for booking."})
    unit = instrument.booking_unit_minutes
    tz = local_tz()
    for name, moment in (("start", start), ("end", end)):
        local = moment.astimezone(tz)
        if local.second or local.microsecond or (local.hour * 60 + local.minute) % unit:
            raise ValidationError(
                {
                    name: f"Booking unit: {instrument.code} is booked in blocks of {_fmt_minutes(unit)} counted from "
                    f"midnight (Asia/Shanghai), so the {name} must fall on such a boundary."
                }
            )
    minutes = int((end - start).total_seconds() // 60)
    if minutes < instrument.min_minutes:
        raise ValidationError(
            f"Minimum duration: {instrument.code} must be booked for at least {_fmt_minutes(instrument.min_minutes)}."
        )
    if minutes > instrument.max_minutes:
        raise ValidationError(
            f"Maximum duration: {instrument.code} may be booked for at most "
            f"{_fmt_minutes(instrument.max_minutes)} at a time."
        )
    if start < now:
        raise ValidationError({"start": "The start is in the past."})
    if start < now + dt.timedelta(minutes=instrument.lead_time_minutes):
        raise ValidationError(
            f"Lead time: {instrument.code} must be booked at least "
            f"{_fmt_minutes(instrument.lead_time_minutes)} before the start."
        )
    if start > now + dt.timedelta(days=instrument.horizon_days):
        raise ValidationError(
            f"Booking horizon: {instrument.code} can be booked at most {instrument.horizon_days} days ahead."
        )
    check_open(instrument=instrument, start=start, end=end)


def check_open(*, instrument: Instrument, start: dt.datetime, end: dt.datetime) -> None:
    reasons = [why for span, why in closure_reasons(instrument, start, end) if overlaps(span, (start, end))]
    if reasons:
        raise ValidationError(f"Operating hours: {instrument.code} cannot be booked then because {reasons[0]}.")


def check_qualification(*, instrument: Instrument, requester: User) -> None:
    """Who may book the instrument: qualified (when it asks for that), then in good standing — the
    layers above answer the `validate_requester` hook (usage: a suspension after violations)."""
    if instrument.requires_qualification and not is_qualified(user=requester, instrument=instrument):
        raise ValidationError(
            f"Qualification: {instrument.code} may only be booked by users its facility managers have qualified; "
            "ask a manager of the facility to qualify you."
        )
    validate_requester.send(sender=Instrument, requester=requester, instrument=instrument)
