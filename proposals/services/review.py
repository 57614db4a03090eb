"""Staff checks, reviewer assignments (with conflicts of interest enforced), grades, and the award."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import Conflict
from facilities.models import User
from facilities.models.tenants import Role

from ..models import Proposal, ReviewAssignment, ShiftRequest, StaffCheck
from ..selectors import checks_passed, conflicted, pools, reviews_of
from ..states import CheckKind, ProposalStatus, Track
from .common import lock_proposal, move, record, require_office


def _open_for_review(proposal: Proposal) -> None:
    if proposal.status != ProposalStatus.SUBMITTED:
        raise Conflict(
            "not_under_review",
            _("Proposal P%(id)s is %(status)s, not under review.")
            % {"id": proposal.pk, "status": proposal.get_status_display().lower()},
        )


def check_record(*, actor: User, proposal_id: int, kind: str, passed: bool, comment: str = "") -> StaffCheck:
    """The facility records its feasibility check or safety pre-screen (again, to change it)."""
    if kind not in CheckKind.values:
        raise ValidationError({"kind": _("Kind must be one of %(kinds)s.") % {"kinds": ", ".join(CheckKind.values)}})
    if type(passed) is not bool:
        raise ValidationError({"passed": _("Say true or false.")})
    with transaction.atomic():
        proposal = lock_proposal(actor, proposal_id)
        require_office(actor, proposal)
        _open_for_review(proposal)
        check, _created = StaffCheck.objects.update_or_create(
            proposal=proposal, kind=kind, defaults={"passed": passed, "comment": comment[:3000], "by": actor}
        )
        record(proposal, actor, "checked", kind=kind, passed=passed)
    return check


def panel_set(*, actor: User, proposal_id: int, panel: str) -> Proposal:
    """The user office puts a proposal before a review panel (a name; the ranking is per panel)."""
    if not isinstance(panel, str) or len(panel.strip()) > 64:
        raise ValidationError({"panel": _("Name the panel in at most 64 characters.")})
    with transaction.atomic():
        proposal = lock_proposal(actor, proposal_id)
        require_office(actor, proposal)
        _open_for_review(proposal)
        proposal.panel = panel.strip()
        proposal.save(update_fields=["panel", "updated_at"])
        record(proposal, actor, "panel_set", panel=proposal.panel)
    return proposal


def reviewer_assign(*, actor: User, proposal_id: int, reviewer_username: str) -> ReviewAssignment:
    """Assign a reviewer (any institution, with a reviewer role) unless they have a conflict of interest."""
    from .notify import notify_reviewer

    with transaction.atomic():
        proposal = lock_proposal(actor, proposal_id)
        require_office(actor, proposal)
        _open_for_review(proposal)
        if proposal.track == Track.RAPID:
            raise Conflict(
                "rapid_access", _("Rapid-access proposals are reviewed by the facility's staff, not a panel.")
            )
        reviewer = User.objects.filter(
            username=reviewer_username, is_active=True, memberships__role=Role.REVIEWER
        ).first()
        if reviewer is None:
            raise ValidationError({"reviewer": _("No reviewer %(name)r.") % {"name": str(reviewer_username)[:40]}})
        if conflicted(reviewer, proposal):
            raise Conflict(
                "conflict_of_interest",
                _("%(name)s may not review P%(id)s: they are on the team or at a team member's institution.")
                % {"name": reviewer.username, "id": proposal.pk},
            )
        assignment, created = ReviewAssignment.objects.get_or_create(
            proposal=proposal, reviewer=reviewer, defaults={"assigned_by": actor}
        )
        if created:
            record(proposal, actor, "reviewer_assigned", reviewer=reviewer.pk)
            notify_reviewer(assignment)
    return assignment


def review_grade(*, actor: User, assignment_id: int, grade, comment: str) -> ReviewAssignment:
    """A reviewer grades a proposal they are assigned to, on the call's scale; they may change it while
    the proposal is under review."""
    with transaction.atomic():
        assignment = reviews_of(actor).select_for_update(of=("self",)).filter(pk=assignment_id).first()
        if assignment is None:
            raise Http404(_("No such review, or it is not yours."))
        proposal = assignment.proposal
        _open_for_review(proposal)
        call = proposal.call
        try:
            value = Decimal(str(grade))
        except (InvalidOperation, ValueError):
            raise ValidationError({"grade": _("The grade is not a number.")}) from None
        if (
            not value.is_finite()
            or not call.grade_min <= value <= call.grade_max
            or value != value.quantize(Decimal("0.1"))
        ):
            raise ValidationError(
                {
                    "grade": _("Grade from %(low)s to %(high)s, with at most one decimal.")
                    % {"low": call.grade_min, "high": call.grade_max}
                }
            )
        if not isinstance(comment, str) or not comment.strip() or len(comment) > 5000:
            raise ValidationError({"comment": _("Write a comment for the team (at most 5000 characters).")})
        assignment.grade, assignment.comment, assignment.graded_at = value, comment.strip(), timezone.now()
        assignment.save()
        record(proposal, actor, "graded")
    return assignment


def proposal_award(*, actor: User, proposal_id: int, awards: dict[int, int], comment: str = "", now=None) -> Proposal:
    """Award shifts per instrument (all, part or none). Regular proposals need both staff checks passed
    and at least one grade; rapid-access ones only the staff checks. Shifts come from the instrument's
    panel pool (regular) or rapid-access pool plus returned time (rapid); none may be overspent."""
    from .notify import notify_team

    now = now or timezone.now()
    if not isinstance(awards, dict) or any(
        type(k) is not int or type(v) is not int or v < 0 for k, v in awards.items()
    ):
        raise ValidationError({"awards": _("Give {instrument id: shifts} with whole numbers of shifts, 0 or more.")})
    with transaction.atomic():
        proposal = lock_proposal(actor, proposal_id)
        require_office(actor, proposal)
        _open_for_review(proposal)
        # Awards of one call are serialized on the call row, so two awards cannot both spend the last shifts.
        type(proposal.call).objects.select_for_update().filter(pk=proposal.call_id).first()
        if not checks_passed(proposal):
            raise ValidationError({"checks": _("Record a passed feasibility check and safety pre-screen first.")})
        if proposal.track == Track.REGULAR and not proposal.reviews.filter(grade__isnull=False).exists():
            raise ValidationError({"reviews": _("A regular proposal needs at least one grade before it is awarded.")})
        requests = {r.instrument_id: r for r in proposal.requests.select_for_update()}
        unknown = set(awards) - set(requests)
        if unknown:
            raise ValidationError(
                {"awards": _("The proposal asks for no shifts on instrument %(id)s.") % {"id": min(unknown)}}
            )
        pool = pools(proposal.call)
        for instrument_id, shifts in awards.items():
            request = requests[instrument_id]
            if shifts > request.shifts_requested:
                raise ValidationError(
                    {
                        "awards": _("At most %(n)s shifts on instrument %(id)s: that was asked.")
                        % {"n": request.shifts_requested, "id": instrument_id}
                    }
                )
            p = pool[instrument_id]
            same_track = ShiftRequest.objects.filter(
                instrument_id=instrument_id, proposal__call=proposal.call, proposal__track=proposal.track
            ).exclude(pk=request.pk)
            spent = same_track.aggregate(n=Sum("shifts_awarded"))["n"] or 0
            room = p.panel if proposal.track == Track.REGULAR else p.rapid + p.returned
            if spent + shifts > room:
                raise ValidationError(
                    {
                        "awards": _("Only %(n)s shifts remain on instrument %(id)s for %(track)s proposals.")
                        % {"n": max(room - spent, 0), "id": instrument_id, "track": proposal.track}
                    }
                )
        for instrument_id, request in requests.items():
            request.shifts_awarded = awards.get(instrument_id, 0)
            request.save(update_fields=["shifts_awarded"])
        awarded = sum(awards.values())
        move(proposal, ProposalStatus.AWARDED if awarded else ProposalStatus.DECLINED, "decided")
        proposal.decided_at, proposal.decision_comment = now, comment[:3000]
        proposal.save()
        record(proposal, actor, "awarded" if awarded else "declined", awards={str(k): v for k, v in awards.items()})
        notify_team(proposal, proposal.status)
    return proposal


def may_review(actor: User, proposal: Proposal) -> None:
    if not reviews_of(actor).filter(proposal=proposal).exists():
        raise PermissionDenied(_("You are not assigned to review this proposal."))
