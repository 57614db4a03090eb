"""Writing bookings that already happened (or were already agreed) elsewhere: migration and demo data.

An imported booking takes the same path as a live one as far as the calendar allows: the same
conflict check and insert under the instrument's lock (take_slot, and beyond it no overlap with
completed or no-show bookings either, which history can meet), the same rules, the same
transition services (so billing charges completed and no-show bookings exactly as it would have).
Only the rules about *when a booking is made* are skipped: lead time, booking horizon and "the start
is in the past" (and the future-bookings limit for a booking that is already over). The booking
unit, minimum and maximum duration, operating hours and closures, qualification, the accounts and
their budgets, and the time share all still apply. The timestamps of the record (made, decided,
cancelled, and the audit entries) are set to plausible moments before `now` instead of the wall clock.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from facilities.models import Instrument, User

from .. import rules
from ..holds import held_span, lock_for_booking, slot_unavailable
from ..models import Booking, BookingEvent
from .requests import initial_status, requester_institution, resolve_splits
from .taking import take_slot
from .transitions import booking_complete, booking_no_show, transition

S = Booking.Status
USED = (S.COMPLETED, S.NO_SHOW)  # the instrument's time was spent (or reserved and lost)


def import_exists(key: str) -> bool:
    return BookingEvent.objects.filter(from_status="", data__import_key=key).exists()


def _check_rules_except_when_made(instrument: Instrument, start: dt.datetime, end: dt.datetime) -> None:
    # check_static_rules measures lead time, horizon and the past from `now`; judging the booking as if
    # it had been made exactly one lead time ahead satisfies those three and leaves every other rule.
    as_if_made = start - dt.timedelta(minutes=instrument.lead_time_minutes)
    rules.check_static_rules(instrument=instrument, start=start, end=end, now=as_if_made)


def _check_not_used(instrument: Instrument, start: dt.datetime, end: dt.datetime) -> None:
    # Live requests only meet held bookings, since a finished one lies in the past. History can be
    # written over a finished booking's time, and two records of using the same hours would be wrong.
    s, e = held_span(instrument, start, end)
    used = list(
        Booking.objects.filter(instrument=instrument, status__in=USED, start__lt=e, hold_end__gt=s)
        .order_by("start")
        .values_list("start", "end")
    )
    if used:
        raise slot_unavailable(instrument, used)


def booking_import(
    *,
    requester: User,
    instrument: Instrument,
    start: dt.datetime,
    end: dt.datetime,
    status: str,
    purpose: str = "",
    splits: list[dict] | None = None,
    actual_start: dt.datetime | None = None,
    actual_end: dt.datetime | None = None,
    now: dt.datetime | None = None,
    decided_by: User | None = None,
    made_at: dt.datetime | None = None,
    import_key: str = "",
) -> Booking:
    """Write one booking that ends in `status`. `decided_by` approves, rejects, completes or marks the
    no-show (None: the system); the requester cancels. `import_key` marks the record so a loader can
    tell it already ran (see import_exists)."""
    now = now or timezone.now()
    if status not in S.values:
        raise ValidationError(
            {
                "status": _("Unknown status %(status)s; one of %(value)s.")
                % {"status": repr(status), "value": ", ".join(S.values)}
            }
        )
    if status in (S.COMPLETED, S.NO_SHOW) and start > now:
        raise ValidationError({"status": _("A booking that has not started cannot be completed or a no-show.")})
    if (actual_start or actual_end) and status != S.COMPLETED:
        raise ValidationError({"actual_start": _("Actual times belong to completed bookings only.")})
    institution = requester_institution(requester)
    rules.check_purpose(purpose)
    _check_rules_except_when_made(instrument, start, end)
    rules.check_qualification(instrument=instrument, requester=requester)
    specs = resolve_splits(requester=requester, splits=splits, day=timezone.localtime(start).date())

    made = min(made_at or start - dt.timedelta(days=7), now)
    decided = min(made + dt.timedelta(hours=3), now)
    with transaction.atomic():
        lock_for_booking(instrument_ids=[instrument.pk], accounts=[s.account for s in specs])
        _check_not_used(instrument, start, end)
        first = initial_status(instrument=instrument, requester=requester, institution=institution)
        if status in (S.REQUESTED, S.REJECTED):
            first = S.REQUESTED
        booking = take_slot(
            instrument=instrument,
            requester=requester,
            institution=institution,
            start=start,
            end=end,
            status=first,
            purpose=purpose,
            splits=specs,
            now=now,
            reason="imported",
        )
        stamps = {first: made}

        def at(moment):
            return lambda b: setattr(
                b, "decided_at" if b.status in (S.APPROVED, S.REJECTED) else "cancelled_at", moment
            )

        if first == S.REQUESTED and status in (S.APPROVED, S.COMPLETED, S.NO_SHOW):
            transition(booking_id=booking.pk, actor=decided_by, to=S.APPROVED, mutate=at(decided))
            stamps[S.APPROVED] = decided
        if status == S.REJECTED:
            transition(booking_id=booking.pk, actor=decided_by, to=S.REJECTED, mutate=at(decided))
            stamps[S.REJECTED] = decided
        elif status == S.CANCELLED:
            cancelled = min(decided + dt.timedelta(days=1), start - dt.timedelta(hours=1), now)
            transition(
                booking_id=booking.pk,
                actor=requester,
                to=S.CANCELLED,
                mutate=at(cancelled),
                allowed=lambda actor, b: b.requester_id == actor.pk,
            )
            stamps[S.CANCELLED] = cancelled
        elif status == S.COMPLETED:
            booking_complete(
                actor=decided_by, booking_id=booking.pk, actual_start=actual_start, actual_end=actual_end, now=now
            )
            stamps[S.COMPLETED] = min(actual_end or end, now)
        elif status == S.NO_SHOW:
            booking_no_show(actor=decided_by, booking_id=booking.pk, now=now)
            stamps[S.NO_SHOW] = min(end, now)
        Booking.objects.filter(pk=booking.pk).update(created_at=made)
        events = BookingEvent.objects.filter(booking=booking)
        for to_status, moment in stamps.items():
            events.filter(to_status=to_status).update(at=moment)
        booking.refresh_from_db()
        # What the import wrote is history, not news: the mail about it is not sent (notifications
        # read this), while later changes, with higher sequences, are mailed as usual.
        data: dict[str, int | str] = {BookingEvent.IMPORTED_THROUGH: booking.sequence}
        if import_key:
            data["import_key"] = import_key
        events.filter(from_status="").update(data=data)
    return booking
