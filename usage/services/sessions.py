"""Recording use by check-in (the instrument's QR code) and by hand (a manager), and validating it.

Each write locks the instrument the way every writer of held time does (booking.holds.lock_for_booking),
so a walk-up check-in and a booking of the same moment cannot both succeed, and raises the instrument's
availability version so that open instrument pages show "in use" at once."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from booking import rules
from booking.holds import held_span, lock_for_booking
from booking.live.receivers import note_touched
from booking.models import Booking
from common.errors import Conflict
from facilities.models import Instrument, User
from facilities.selectors import is_manager_of
from facilities.services import bump_versions

from ..models import EndedBy, Source, UsageSession, UsageSettings
from ..signals import use_corrected

MAX_REASON_LENGTH = 2000


def announce_use(*, instrument_id: int, reason: str) -> None:
    """Inside the transaction: raise the instrument's availability version and mark the present moment as
    touched, so that every open calendar of this week is sent an update (the busy time itself does not
    change) and fetches its "in use" badge again."""
    now = timezone.now()
    note_touched(instrument_id, now, now + WALK_UP_PROBE)
    bump_versions(instrument_ids=[instrument_id], reason=reason)


MAX_SESSION = dt.timedelta(days=31)
# A walk-up check-in asks whether anyone else holds this moment: [now, now + this).
WALK_UP_PROBE = dt.timedelta(minutes=1)


def may_manage(actor: User, instrument: Instrument) -> bool:
    return actor.is_superuser or is_manager_of(actor, instrument.facility_id)


def _require_manager(actor: User, instrument: Instrument) -> None:
    if not may_manage(actor, instrument):
        raise PermissionDenied(
            _("Only the managers of %(code)s may record use of %(code2)s.")
            % {"code": instrument.facility.code, "code2": instrument.code}
        )


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why: a recorded or corrected use needs a reason.")})
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError(
            {
                "reason": _("The reason may be at most %(max_reason_length)s characters long.")
                % {"max_reason_length": MAX_REASON_LENGTH}
            }
        )
    return reason


def booking_for_checkin(*, user: User, instrument: Instrument, now: dt.datetime) -> Booking | None:
    """The user's approved booking of the instrument that check-in may start now: from the set number of
    minutes before its start until its end."""
    early = dt.timedelta(minutes=UsageSettings.for_instrument(instrument.pk).checkin_early_minutes)
    return (
        Booking.objects.filter(
            instrument=instrument,
            requester=user,
            status=Booking.Status.APPROVED,
            start__lte=now + early,
            end__gt=now,
        )
        .order_by("start")
        .first()
    )


def _may_take_over(current: UsageSession, booking: Booking | None, now: dt.datetime) -> bool:
    """A QR check-in left open gives way to someone whose booking has begun, unless it is itself still
    within a booking of its own user that holds this moment."""
    if booking is None or booking.start > now or current.source != Source.QR:
        return False
    if current.booking_id is None:
        return True
    return not Booking.objects.filter(
        pk=current.booking_id, status=Booking.Status.APPROVED, start__lte=now, end__gt=now
    ).exists()


def checkin_start(*, user: User, instrument: Instrument, now: dt.datetime | None = None) -> UsageSession:
    """Start using the instrument: within one's own booking (from the set minutes before it), or walk-up
    when nobody else holds the time. Starting again while one's own use is open returns that use."""
    now = now or timezone.now()
    with transaction.atomic():
        lock_for_booking(instrument_ids=[instrument.pk])
        current = (
            UsageSession.objects.select_for_update()
            .filter(instrument=instrument, end__isnull=True)
            .order_by("-start")
            .first()
        )
        if current is not None and current.user_id == user.pk:
            return current
        booking = booking_for_checkin(user=user, instrument=instrument, now=now)
        if current is not None:
            if not _may_take_over(current, booking, now):
                raise Conflict(
                    "in_use", _("%(code)s is in use by someone else; stop their use first.") % {"code": instrument.code}
                )
            # A check-in someone forgot to stop gives way to the next booked user: it ends now.
            current.end, current.last_seen, current.ended_by = now, max(now, current.last_seen), EndedBy.NEXT_USER
            current.save(update_fields=["end", "last_seen", "ended_by"])
        if booking is None:
            # Walk-up: the one conflict query says whether anyone else holds this moment.
            others = (
                Booking.objects.holding([instrument.pk], *held_span(instrument, now, now + WALK_UP_PROBE))
                .exclude(requester=user)
                .order_by("start")
                .first()
            )
            if others is not None:
                raise Conflict(
                    "slot_held",
                    _(
                        "%(code)s is booked by someone else until %(localtime)s; you may start "
                        "only within your own booking."
                    )
                    % {"code": instrument.code, "localtime": format(timezone.localtime(others.hold_end), "%H:%M")},
                )
            if not instrument.active:
                raise ValidationError(_("%(code)s is not open for use.") % {"code": instrument.code})
            rules.check_qualification(instrument=instrument, requester=user)  # as for a booking
        session = UsageSession.objects.create(
            instrument=instrument,
            user=user,
            booking=booking,
            start=now,
            last_seen=now,
            source=Source.QR,
            recorded_by=user,
        )
        announce_use(instrument_id=instrument.pk, reason="usage_started")
    return session


def checkin_stop(*, user: User, instrument: Instrument, now: dt.datetime | None = None) -> UsageSession:
    """Stop one's own use of the instrument."""
    now = now or timezone.now()
    with transaction.atomic():
        lock_for_booking(instrument_ids=[instrument.pk])
        session = (
            UsageSession.objects.select_for_update()
            .filter(instrument=instrument, user=user, end__isnull=True)
            .order_by("-start")
            .first()
        )
        if session is None:
            raise Conflict(
                "not_in_use", _("You are not using %(code)s; there is nothing to stop.") % {"code": instrument.code}
            )
        session.end = max(now, session.start)
        session.last_seen = session.end
        session.ended_by = EndedBy.STOP
        session.save(update_fields=["end", "last_seen", "ended_by"])
        announce_use(instrument_id=instrument.pk, reason="usage_stopped")
    return session


def _check_span(start: dt.datetime, end: dt.datetime | None, now: dt.datetime) -> None:
    for name, value in (("start", start), ("end", end)):
        if value is not None and timezone.is_naive(value):
            raise ValidationError({name: _("Times must carry a UTC offset.")})
    if start > now:
        raise ValidationError({"start": _("Use cannot start in the future.")})
    if end is not None:
        if end <= start:
            raise ValidationError({"end": _("Use must end after it starts.")})
        if end > now:
            raise ValidationError({"end": _("Use cannot end in the future.")})
        if end - start > MAX_SESSION:
            raise ValidationError({"end": _("Use longer than 31 days is not plausible; check the times.")})


def _booking_of(instrument: Instrument, booking_id: int | None, user: User | None) -> Booking | None:
    if booking_id is None:
        return None
    booking = Booking.objects.filter(pk=booking_id, instrument=instrument).first()
    if booking is None:
        raise ValidationError(
            {
                "booking": _("Booking #%(booking_id)s is not a booking of %(code)s.")
                % {"booking_id": booking_id, "code": instrument.code}
            }
        )
    if user is not None and booking.requester_id != user.pk:
        raise ValidationError(
            {"booking": _("Booking #%(booking_id)s was made by someone else.") % {"booking_id": booking_id}}
        )
    return booking


def session_record(
    *,
    actor: User,
    instrument: Instrument,
    user: User,
    start: dt.datetime,
    end: dt.datetime,
    reason: str,
    booking_id: int | None = None,
    now: dt.datetime | None = None,
) -> UsageSession:
    """A manager records use that nobody checked in (a forgotten check-in, a broken agent)."""
    now = now or timezone.now()
    _require_manager(actor, instrument)
    reason = _reason(reason)
    _check_span(start, end, now)
    with transaction.atomic():
        lock_for_booking(instrument_ids=[instrument.pk])
        booking = _booking_of(instrument, booking_id, user)
        session = UsageSession.objects.create(
            instrument=instrument,
            user=user,
            booking=booking,
            start=start,
            end=end,
            last_seen=end,
            source=Source.MANUAL,
            ended_by=EndedBy.MANAGER,
            recorded_by=actor,
            reason=reason,
            validated_by=actor,
            validated_at=now,
        )
        announce_use(instrument_id=instrument.pk, reason="usage_recorded")
        if booking is not None:
            use_corrected.send(sender=UsageSession, booking_ids=[booking.pk])
    return session


_UNSET = object()


def _lock_session(actor: User, session_id: int) -> UsageSession:
    session = UsageSession.objects.select_related("instrument__facility").filter(pk=session_id).first()
    if session is None or not (may_manage(actor, session.instrument) or session.user_id == actor.pk):
        raise Http404(_("No such use, or you may not see it."))
    _require_manager(actor, session.instrument)
    lock_for_booking(instrument_ids=[session.instrument_id])
    return UsageSession.objects.select_for_update().select_related("instrument__facility").get(pk=session_id)


def session_correct(
    *,
    actor: User,
    session_id: int,
    reason: str,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    booking_id=_UNSET,
    now: dt.datetime | None = None,
) -> UsageSession:
    """A manager corrects recorded use, with a reason; the session is then theirs (no longer rebuilt from
    an agent's events) and counts as validated. The audit trail keeps the values before and after."""
    now = now or timezone.now()
    reason = _reason(reason)
    with transaction.atomic():
        session = _lock_session(actor, session_id)
        booking_before = session.booking_id
        new_start = start or session.start
        new_end = end or session.end
        _check_span(new_start, new_end, now)
        if booking_id is not _UNSET:
            session.booking = _booking_of(session.instrument, booking_id, session.user)
        session.start, session.end = new_start, new_end
        session.last_seen = max(new_end or session.last_seen, new_start)
        if new_end is not None and not session.ended_by:
            session.ended_by = EndedBy.MANAGER
        session.reason, session.corrected_at = reason, now
        session.validated_by, session.validated_at = actor, now
        session.save()
        announce_use(instrument_id=session.instrument_id, reason="usage_corrected")
        touched = sorted({b for b in (booking_before, session.booking_id) if b is not None})
        if touched:
            use_corrected.send(sender=UsageSession, booking_ids=touched)
    return session


def session_validate(*, actor: User, session_id: int, now: dt.datetime | None = None) -> UsageSession:
    """A manager confirms recorded use as it stands."""
    now = now or timezone.now()
    with transaction.atomic():
        session = _lock_session(actor, session_id)
        if session.end is None:
            raise Conflict("in_use", _("Use still going on cannot be validated; validate it once it has ended."))
        session.validated_by, session.validated_at = actor, now
        session.save(update_fields=["validated_by", "validated_at"])
    return session
