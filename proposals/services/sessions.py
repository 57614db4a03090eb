"""Awarded shifts on the instrument's calendar.

A session is a `booking.Booking` of kind beamtime, taken through `booking.services.taking.take_slot`
under `booking.holds.lock_for_booking`, so it can never overlap an hourly booking or another session
(the exclusion constraint on PostgreSQL, serialized writes on SQLite). The booking is `requested` while
the session waits for the team's confirmation and its approved safety form, and `approved` once it has
both; the booking layer then completes it after it ends (used) or rejects it at its start if it is
still blocked. See docs/decisions/0019-beamtime-sessions-are-bookings.md.
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.holds import lock_for_booking
from booking.models import Booking
from booking.services import booking_approve, booking_cancel
from booking.services.taking import take_slot
from common.errors import Conflict
from common.intervals import overlaps
from common.time import local_tz
from facilities.calendar import closed_spans, closure_reasons
from facilities.models import User

from ..models import SHIFT, BeamSession, ExperimentReport, Proposal, SafetyForm, ShiftRequest
from ..selectors import ledgers_for, proposals_visible_to, runs_calls_of
from ..states import ProposalStatus, SessionState
from .common import is_team, record, require_office, require_team


def _lock_session(actor: User, session_id: int) -> BeamSession:
    visible = proposals_visible_to(actor).values("pk")
    session = (
        BeamSession.objects.select_for_update(of=("self",))
        .filter(pk=session_id, request__proposal__in=visible)
        .select_related("booking", "request__proposal__call__facility", "request__instrument__facility")
        .first()
    )
    if session is None:
        raise Http404(_("No such session, or you may not see it."))
    return session


def safety_deadline(session: BeamSession) -> dt.datetime:
    return session.booking.start - dt.timedelta(days=settings.PROPOSALS_SAFETY_DAYS)


def is_blocked(session: BeamSession) -> bool:
    """A session may run only with an approved safety form."""
    form = getattr(session, "safety_form", None)
    return form is None or form.approved_at is None


def suggest_slots(*, request: ShiftRequest, shifts: int, count: int = 5) -> list[dt.datetime]:
    """Starts (08:00 local) of free runs of `shifts` shifts on the team's preferred dates first, then on
    any date of the cycle, never on an impossible date, on held time, or in time the instrument's calendar
    closes (operating hours, public holidays for facilities that follow the office calendar, closures:
    `facilities.calendar`, as for hourly booking). Beamlines that run round the clock have no hours."""
    proposal = request.proposal
    instrument = request.instrument
    tz = local_tz()
    today = timezone.localdate()
    days = [
        proposal.call.cycle_start + dt.timedelta(days=i)
        for i in range((proposal.call.cycle_end - proposal.call.cycle_start).days + 1)
    ]
    days = [d for d in days if d > today]
    if not days:
        return []
    impossible = {dt.date.fromisoformat(d) for d in proposal.impossible_dates}
    preferred = [dt.date.fromisoformat(d) for d in proposal.preferred_dates]
    order = [d for d in preferred if d in days] + [d for d in days if d not in preferred]
    window_start = dt.datetime.combine(days[0], dt.time(8), tz)
    closed = closed_spans(instrument, window_start, dt.datetime.combine(days[-1], dt.time(8), tz) + SHIFT * shifts)
    out: list[dt.datetime] = []
    for day in order:
        start = dt.datetime.combine(day, dt.time(8), tz)
        end = start + SHIFT * shifts
        span_days = {(start + dt.timedelta(days=i)).date() for i in range((end - start).days + 1)}
        if span_days & impossible:
            continue
        if any(overlaps(span, (start, end)) for span in closed):
            continue
        if Booking.objects.conflicts(instrument, start, end):
            continue
        out.append(start)
        if len(out) >= count:
            break
    return out


def check_calendar_open(*, instrument, start: dt.datetime, end: dt.datetime) -> None:
    """A session goes only where the instrument's calendar is open: within its operating hours, not on a
    public holiday its facility keeps, not in a closure (the reasons `facilities.calendar` gives)."""
    reasons = [why for span, why in closure_reasons(instrument, start, end) if overlaps(span, (start, end))]
    if reasons:
        raise ValidationError(
            {
                "start": _("%(code)s is closed during that session because %(reason)s; place it at another time.")
                % {"code": instrument.code, "reason": reasons[0]}
            }
        )


def session_place(*, actor: User, request_id: int, start: dt.datetime, shifts: int, now=None) -> BeamSession:
    """The user office places `shifts` consecutive 8-hour shifts of an award at `start`."""
    from .notify import notify_team

    now = now or timezone.now()
    if type(shifts) is not int or shifts < 1:
        raise ValidationError({"shifts": _("Place at least one shift.")})
    request = (
        ShiftRequest.objects.select_related(
            "proposal__call__facility", "instrument__facility", "instrument__facility__host"
        )
        .filter(pk=request_id, proposal__in=proposals_visible_to(actor).values("pk"))
        .first()
    )
    if request is None:
        raise Http404(_("No such award, or you may not see it."))
    proposal = request.proposal
    require_office(actor, proposal)
    if proposal.status != ProposalStatus.AWARDED:
        raise Conflict("not_awarded", _("Proposal P%(id)s has no award to schedule.") % {"id": proposal.pk})
    if start <= now:
        raise ValidationError({"start": _("A session must start in the future.")})
    local = timezone.localtime(start, local_tz())
    if not proposal.call.cycle_start <= local.date() <= proposal.call.cycle_end:
        raise ValidationError(
            {
                "start": _("Sessions of %(call)s fall between %(first)s and %(last)s.")
                % {"call": proposal.call, "first": proposal.call.cycle_start, "last": proposal.call.cycle_end}
            }
        )
    end = start + SHIFT * shifts
    check_calendar_open(instrument=request.instrument, start=start, end=end)
    with transaction.atomic():
        lock_for_booking(instrument_ids=[request.instrument_id])
        ShiftRequest.objects.select_for_update().filter(pk=request.pk).first()
        ledger = ledgers_for(ShiftRequest.objects.filter(pk=request.pk))[0]
        if shifts > ledger.to_schedule:
            raise ValidationError(
                {"shifts": _("Only %(n)s awarded shifts remain to be scheduled.") % {"n": ledger.to_schedule}}
            )
        booking = take_slot(
            instrument=request.instrument,
            requester=proposal.principal_investigator,
            institution=proposal.institution,
            start=start,
            end=end,
            status=Booking.Status.REQUESTED,
            purpose=f"Beamtime P{proposal.pk}: {proposal.title}"[:2000],
            splits=[],
            now=now,
            actor=actor,
            reason=f"Awarded to proposal P{proposal.pk}",
            kind=Booking.Kind.BEAMTIME,
        )
        session = BeamSession.objects.create(request=request, booking=booking, shifts=shifts)
        record(proposal, actor, "session_placed", session=session.pk, start=start.isoformat(), shifts=shifts)
        notify_team(proposal, "session_placed", key=str(session.pk))
    return session


def _release_if_ready(session: BeamSession, actor: User | None) -> None:
    """Approve the booking once the team confirmed and the safety form is approved."""
    if (
        session.state == SessionState.CONFIRMED
        and not is_blocked(session)
        and session.booking.status == Booking.Status.REQUESTED
    ):
        booking_approve(actor=None, booking_id=session.booking_id, reason="Session confirmed and safety form approved")


def session_confirm(*, actor: User, session_id: int) -> BeamSession:
    with transaction.atomic():
        session = _lock_session(actor, session_id)
        require_team(actor, session.request.proposal)
        if not session.can_transition(SessionState.CONFIRMED) or not session.booking.holds_slot:
            raise Conflict(
                "invalid_transition",
                _("Session #%(id)s is %(state)s and cannot be confirmed.")
                % {"id": session.pk, "state": session.get_state_display().lower()},
            )
        session.state, session.confirmed_by, session.confirmed_at = SessionState.CONFIRMED, actor, timezone.now()
        session.save()
        record(session.request.proposal, actor, "session_confirmed", session=session.pk)
        _release_if_ready(session, actor)
    return session


def session_cancel(*, actor: User, session_id: int, substitute_request_id: int | None = None, now=None) -> BeamSession:
    """The team or the office cancels a session. A team cancelling within PROPOSALS_LATE_CANCEL_DAYS of
    the start forfeits its shifts, unless the office names a substitute award on the same instrument that
    takes the same time. The freed slot goes to the booking layer's waitlist; forfeited shifts to rapid
    access (selectors.pools)."""
    now = now or timezone.now()
    with transaction.atomic():
        session = _lock_session(actor, session_id)
        proposal = session.request.proposal
        by_team = is_team(actor, proposal)
        if not by_team:
            require_office(actor, proposal)
        if not session.can_transition(SessionState.CANCELLED) or not session.booking.holds_slot:
            raise Conflict(
                "invalid_transition",
                _("Session #%(id)s is %(state)s and cannot be cancelled.")
                % {"id": session.pk, "state": session.get_state_display().lower()},
            )
        late = session.booking.start - now < dt.timedelta(days=settings.PROPOSALS_LATE_CANCEL_DAYS)
        substitute = None
        if substitute_request_id is not None:
            if not runs_calls_of(actor, proposal.call.facility_id):
                raise ValidationError({"substitute": _("Only the user office names a substitute.")})
            substitute = (
                ShiftRequest.objects.filter(
                    pk=substitute_request_id,
                    instrument_id=session.request.instrument_id,
                    proposal__status=ProposalStatus.AWARDED,
                )
                .exclude(pk=session.request_id)
                .first()
            )
            if substitute is None:
                raise ValidationError({"substitute": _("The substitute must be another award on the same instrument.")})
        session.state = SessionState.CANCELLED
        session.forfeited = by_team and late and substitute is None
        session.save()
        booking_cancel(actor=None, booking_id=session.booking_id, reason=f"Session #{session.pk} cancelled")
        record(proposal, actor, "session_cancelled", session=session.pk, forfeited=session.forfeited)
        if substitute is not None:
            start = session.booking.start
            session_place(actor=actor, request_id=substitute.pk, start=start, shifts=session.shifts, now=now)
    return session


def session_fault(*, actor: User, session_id: int, lost_shifts: int, now=None) -> BeamSession:
    """The office records shifts lost to a machine fault; the lost time goes back to rapid access. A
    session that loses all its shifts before it ends is cancelled, so its slot frees up."""
    with transaction.atomic():
        session = _lock_session(actor, session_id)
        proposal = session.request.proposal
        require_office(actor, proposal)
        if type(lost_shifts) is not int or not 1 <= lost_shifts <= session.shifts:
            raise ValidationError({"lost_shifts": _("From 1 to %(n)s shifts.") % {"n": session.shifts}})
        if (
            session.state not in (SessionState.CONFIRMED, SessionState.USED)
            and session.booking.status != Booking.Status.COMPLETED
        ):
            raise Conflict(
                "invalid_transition",
                _("Session #%(id)s is %(state)s; only a confirmed or used session can lose shifts.")
                % {"id": session.pk, "state": session.get_state_display().lower()},
            )
        session.lost_shifts = lost_shifts
        if lost_shifts == session.shifts and session.booking.holds_slot:
            session.state = SessionState.FAULT
            session.save()
            booking_cancel(actor=None, booking_id=session.booking_id, reason="Machine fault")
        else:
            session.save()
        record(proposal, actor, "machine_fault", session=session.pk, lost_shifts=lost_shifts)
    return session


def safety_submit(*, actor: User, session_id: int, content: str) -> SafetyForm:
    with transaction.atomic():
        session = _lock_session(actor, session_id)
        require_team(actor, session.request.proposal)
        if not session.booking.holds_slot:
            raise Conflict("invalid_transition", _("Session #%(id)s is no longer scheduled.") % {"id": session.pk})
        if not isinstance(content, str) or not content.strip() or len(content) > 5000:
            raise ValidationError(
                {"content": _("Describe samples, hazards and protective measures (at most 5000 characters).")}
            )
        form, _created = SafetyForm.objects.update_or_create(
            session=session,
            defaults={"content": content.strip(), "submitted_by": actor, "approved_by": None, "approved_at": None},
        )
        record(session.request.proposal, actor, "safety_submitted", session=session.pk)
    return form


def safety_approve(*, actor: User, session_id: int, now=None) -> SafetyForm:
    """The office approves a safety form, at the latest PROPOSALS_SAFETY_DAYS before the session starts."""
    now = now or timezone.now()
    with transaction.atomic():
        session = _lock_session(actor, session_id)
        require_office(actor, session.request.proposal)
        form = SafetyForm.objects.filter(session=session).first()
        if form is None:
            raise Conflict("no_safety_form", _("Session #%(id)s has no safety form yet.") % {"id": session.pk})
        if now > safety_deadline(session):
            raise Conflict(
                "safety_deadline_passed",
                _("Safety forms are approved at least %(days)s days before the session; this session stays blocked.")
                % {"days": settings.PROPOSALS_SAFETY_DAYS},
            )
        form.approved_by, form.approved_at = actor, now
        form.save()
        session.safety_form = form
        record(session.request.proposal, actor, "safety_approved", session=session.pk)
        _release_if_ready(session, actor)
    return form


def report_submit(*, actor: User, session_id: int, summary: str) -> ExperimentReport:
    with transaction.atomic():
        session = _lock_session(actor, session_id)
        require_team(actor, session.request.proposal)
        if session.booking.status != Booking.Status.COMPLETED:
            raise Conflict(
                "not_used", _("Session #%(id)s has not been used yet; report after the beam.") % {"id": session.pk}
            )
        if not isinstance(summary, str) or not summary.strip() or len(summary) > 10000:
            raise ValidationError({"summary": _("Summarise the experiment (at most 10000 characters).")})
        if ExperimentReport.objects.filter(session=session).exists():
            raise Conflict("already_reported", _("Session #%(id)s already has its report.") % {"id": session.pk})
        report = ExperimentReport.objects.create(session=session, summary=summary.strip(), submitted_by=actor)
        record(session.request.proposal, actor, "report_submitted", session=session.pk)
    return report


def awarded_requests(proposal: Proposal):
    return proposal.requests.filter(shifts_awarded__gt=0).select_related("instrument")
