"""Mail and live notices about proposals, and the daily safety-form reminders. Tasks take ids, run
after commit and are idempotent: each (proposal, kind, key, recipient) is mailed once (ProposalNotice)."""

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from booking.live.publish import publish_user_notice
from booking.models import Booking
from booking.notifications.mail import language_of, site_url
from facilities.models import Membership, User
from facilities.models.tenants import Role

from .models import BeamSession, Proposal, ProposalNotice, ReviewAssignment

log = logging.getLogger(__name__)


def _recipients(proposal: Proposal, audience: str, key: str) -> list[User]:
    if audience == "team":
        return list(
            User.objects.filter(proposal_memberships__proposal=proposal, is_active=True).distinct().order_by("pk")
        )
    if audience == "office":
        return list(
            User.objects.filter(
                memberships__role=Role.USER_OFFICE,
                memberships__facilities=proposal.call.facility_id,
                is_active=True,
            )
            .distinct()
            .order_by("pk")
        )
    if audience == "reviewer":
        assignment = (
            ReviewAssignment.objects.filter(pk=int(key or 0), proposal=proposal).select_related("reviewer").first()
        )
        return [assignment.reviewer] if assignment else []
    return []


def _message(proposal: Proposal, kind: str, recipient: User) -> tuple[str, str]:
    """(subject, body) in the recipient's language. Reviewers' comments reach the team without names."""
    link = f"{site_url()}/proposals/{proposal.pk}/"
    title = f"P{proposal.pk} {proposal.title}"
    if kind in ("awarded", "declined"):
        subject = (_("Beamtime awarded: %(title)s") if kind == "awarded" else _("Proposal not awarded: %(title)s")) % {
            "title": title
        }
        lines = [
            _("The user office of %(facility)s has decided on your proposal.")
            % {"facility": proposal.call.facility.code}
        ]
        for r in proposal.requests.select_related("instrument").order_by("instrument__code"):
            lines.append(
                _("%(instrument)s: %(awarded)s of %(requested)s shifts")
                % {"instrument": r.instrument.code, "awarded": r.shifts_awarded or 0, "requested": r.shifts_requested}
            )
        comments = [c for c in proposal.reviews.exclude(comment="").order_by("pk").values_list("comment", flat=True)]
        for i, comment in enumerate(comments, 1):
            lines.append(_("Reviewer %(n)s: %(comment)s") % {"n": i, "comment": comment})
        if proposal.decision_comment:
            lines.append(proposal.decision_comment)
    elif kind == "session_placed":
        subject = _("A session was placed for %(title)s; please confirm it") % {"title": title}
        lines = [_("Confirm the session and submit its safety form in time.")]
    elif kind == "safety_reminder":
        subject = _("Safety form needed: %(title)s") % {"title": title}
        lines = [_("A session of this proposal is blocked until its safety form is approved.")]
    elif kind == "review_assigned":
        subject = _("Please review proposal %(title)s") % {"title": title}
        lines = [_("You have been assigned a proposal to grade.")]
    elif kind == "submitted":
        subject = _("Proposal submitted: %(title)s") % {"title": title}
        lines = [_("A proposal was submitted to %(call)s.") % {"call": str(proposal.call)}]
    else:
        subject, lines = title, []
    return subject, "\n\n".join([*lines, link]) + "\n"


@shared_task(name="proposals.tasks.send_proposal_notice")
def send_proposal_notice(*, proposal_id: int, kind: str, key: str = "", audience: str = "team") -> int:
    proposal = Proposal.objects.select_related("call__facility").filter(pk=proposal_id).first()
    if proposal is None:
        return 0
    sent = 0
    for recipient in _recipients(proposal, audience, key):
        try:
            with transaction.atomic():
                ProposalNotice.objects.create(proposal=proposal, kind=kind, key=key, recipient=recipient)
        except IntegrityError:
            continue  # told already
        with translation.override(language_of(recipient)):
            subject, body = _message(proposal, kind, recipient)
        if recipient.email:
            try:
                EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient.email]).send()
            except Exception:  # noqa: BLE001 - the notice stays recorded; the page shows the state anyway
                log.exception("Mail about P%s to %s failed", proposal_id, recipient.pk)
        publish_user_notice(
            user_id=recipient.pk, kind=f"proposal_{kind}", data={"proposal": proposal.pk, "status": proposal.status}
        )
        sent += 1
    return sent


@shared_task(name="proposals.tasks.remind_safety_forms")
def remind_safety_forms(now: str | None = None) -> int:
    """Once a day per session: remind the team of each scheduled session whose safety form is not yet
    approved and whose approval deadline is within the next PROPOSALS_SAFETY_REMINDER_DAYS days."""
    moment = dt.datetime.fromisoformat(now) if now else timezone.now()
    horizon = moment + dt.timedelta(days=settings.PROPOSALS_SAFETY_DAYS + settings.PROPOSALS_SAFETY_REMINDER_DAYS)
    due = (
        BeamSession.objects.filter(
            booking__status=Booking.Status.REQUESTED, booking__start__gt=moment, booking__start__lte=horizon
        )
        .exclude(safety_form__approved_at__isnull=False)
        .select_related("request__proposal")
        .order_by("pk")
    )
    count = 0
    for session in due:
        day = timezone.localdate(moment).isoformat()
        send_proposal_notice(
            proposal_id=session.request.proposal_id, kind="safety_reminder", key=f"{session.pk}:{day}", audience="team"
        )
        BeamSession.objects.filter(pk=session.pk).update(reminded_at=moment)
        count += 1
    return count


def office_members(facility_id: int) -> list[User]:
    return list(
        User.objects.filter(
            pk__in=Membership.objects.filter(role=Role.USER_OFFICE, facilities=facility_id).values("user_id")
        )
    )
