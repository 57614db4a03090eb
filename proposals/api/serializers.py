"""What the proposals API reads and writes. Input types are checked here; the rules in the services.
Output is built by the `*_json` functions from rows the view loaded, shaped by who asks."""

from decimal import Decimal

from rest_framework import serializers

from common.parsing import AwareDateTimeField, StrictIntegerField, StrictTextField
from common.time import iso_local

from .. import selectors
from ..models import Call, Proposal, ReviewAssignment
from ..services.sessions import is_blocked, safety_deadline
from ..states import CheckKind, MemberRole, Track


class OfferInSerializer(serializers.Serializer):
    instrument = StrictIntegerField(min_value=1, max_value=2**53)
    shifts_available = StrictIntegerField(min_value=1, max_value=100000)
    rapid_shifts = StrictIntegerField(min_value=0, max_value=100000, required=False, default=0)


class CallInSerializer(serializers.Serializer):
    facility = StrictIntegerField(min_value=1, max_value=2**53)
    code = StrictTextField(max_length=32)
    title = StrictTextField(max_length=200)
    title_zh = StrictTextField(max_length=200, required=False, default="", allow_blank=True)
    description = StrictTextField(max_length=5000, required=False, default="", allow_blank=True)
    description_zh = StrictTextField(max_length=5000, required=False, default="", allow_blank=True)
    opens_at = AwareDateTimeField()
    closes_at = AwareDateTimeField()
    cycle_start = serializers.DateField()
    cycle_end = serializers.DateField()
    grade_min = serializers.DecimalField(max_digits=4, decimal_places=1, required=False, default=Decimal("1"))
    grade_max = serializers.DecimalField(max_digits=4, decimal_places=1, required=False, default=Decimal("5"))
    rapid_access = serializers.BooleanField(required=False, default=True)
    offers = OfferInSerializer(many=True, required=False)


class TeamInSerializer(serializers.Serializer):
    username = StrictTextField(max_length=150)
    role = serializers.ChoiceField(choices=[c for c in MemberRole.values if c != MemberRole.PRINCIPAL_INVESTIGATOR])


class RequestInSerializer(serializers.Serializer):
    instrument = StrictIntegerField(min_value=1, max_value=2**53)
    shifts = StrictIntegerField(min_value=1, max_value=200, help_text="8-hour shifts.")


class ProposalFieldsSerializer(serializers.Serializer):
    title = StrictTextField(max_length=300, required=False)
    abstract = StrictTextField(max_length=5000, required=False, allow_blank=True, trim_whitespace=False)
    samples = StrictTextField(max_length=3000, required=False, allow_blank=True, trim_whitespace=False)
    hazards = StrictTextField(max_length=3000, required=False, allow_blank=True, trim_whitespace=False)
    preferred_dates = serializers.ListField(child=serializers.DateField(), required=False, max_length=60)
    impossible_dates = serializers.ListField(child=serializers.DateField(), required=False, max_length=60)
    earlier = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=2**53), required=False, max_length=20
    )
    team = TeamInSerializer(many=True, required=False)
    requests = RequestInSerializer(many=True, required=False)

    def to_service(self) -> dict:
        data = dict(self.validated_data)
        for name in ("preferred_dates", "impossible_dates"):
            if name in data:
                data[name] = [d.isoformat() for d in data[name]]
        for name in ("team", "requests"):
            if name in data:
                data[name] = [dict(item) for item in data[name]]
        return data


class ProposalCreateSerializer(ProposalFieldsSerializer):
    call = StrictIntegerField(min_value=1, max_value=2**53)
    track = serializers.ChoiceField(choices=Track.values, required=False, default=Track.REGULAR)
    title = StrictTextField(max_length=300)


class WithdrawReasonSerializer(serializers.Serializer):
    reason = StrictTextField(max_length=500, required=False, default="", allow_blank=True)


class CheckInSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CheckKind.values)
    passed = serializers.BooleanField()
    comment = StrictTextField(max_length=3000, required=False, default="", allow_blank=True)


class PanelInSerializer(serializers.Serializer):
    panel = StrictTextField(max_length=64, allow_blank=True, help_text="The review panel's name; empty for none.")


class ReviewerInSerializer(serializers.Serializer):
    reviewer = StrictTextField(max_length=150, help_text="The reviewer's username.")


class AwardItemSerializer(serializers.Serializer):
    instrument = StrictIntegerField(min_value=1, max_value=2**53)
    shifts = StrictIntegerField(min_value=0, max_value=100000)


class AwardInSerializer(serializers.Serializer):
    awards = AwardItemSerializer(many=True, max_length=20)  # type: ignore[call-arg]
    comment = StrictTextField(max_length=3000, required=False, default="", allow_blank=True)


class GradeInSerializer(serializers.Serializer):
    grade = serializers.DecimalField(max_digits=4, decimal_places=1)
    comment = StrictTextField(max_length=5000)


class PlaceInSerializer(serializers.Serializer):
    request = StrictIntegerField(min_value=1, max_value=2**53, help_text="The shift request (award) id.")
    start = AwareDateTimeField()
    shifts = StrictIntegerField(min_value=1, max_value=200)


class CancelSessionSerializer(serializers.Serializer):
    substitute = StrictIntegerField(min_value=1, max_value=2**53, required=False, help_text="Office only.")


class FaultInSerializer(serializers.Serializer):
    lost_shifts = StrictIntegerField(min_value=1, max_value=200)


class TextInSerializer(serializers.Serializer):
    content = StrictTextField(max_length=10000)


class FileInSerializer(serializers.Serializer):
    file = serializers.FileField()


# --- output (documented shapes) ----------------------------------------------------------------------


class OfferOutSerializer(serializers.Serializer):
    instrument = serializers.IntegerField()
    instrument_code = serializers.CharField()
    shifts_available = serializers.IntegerField()
    rapid_shifts = serializers.IntegerField()


class CallOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    facility = serializers.CharField()
    code = serializers.CharField()
    title = serializers.CharField()
    title_zh = serializers.CharField()
    description = serializers.CharField()
    description_zh = serializers.CharField()
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()
    cycle_start = serializers.DateField()
    cycle_end = serializers.DateField()
    grade_min = serializers.DecimalField(max_digits=4, decimal_places=1)
    grade_max = serializers.DecimalField(max_digits=4, decimal_places=1)
    rapid_access = serializers.BooleanField()
    offers = OfferOutSerializer(many=True)


class ProposalOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    call = serializers.IntegerField()
    track = serializers.CharField()
    status = serializers.CharField()
    title = serializers.CharField()
    viewer_role = serializers.CharField(help_text="team, office, reviewer or admin: what this answer shows.")
    abstract = serializers.CharField()
    samples = serializers.CharField()
    hazards = serializers.CharField()
    team = serializers.ListField(child=serializers.DictField())
    requests = serializers.ListField(child=serializers.DictField())
    reviews = serializers.ListField(
        child=serializers.DictField(),
        help_text="Office: reviewer, grade, comment. Team (after the decision): comments, without names.",
    )
    checks = serializers.ListField(child=serializers.DictField())
    missing_reports = serializers.ListField(child=serializers.IntegerField())


def call_json(call: Call) -> dict:
    return {
        "id": call.pk,
        "facility": call.facility.code,
        "code": call.code,
        "title": call.title,
        "title_zh": call.title_zh,
        "description": call.description,
        "description_zh": call.description_zh,
        "opens_at": iso_local(call.opens_at),
        "closes_at": iso_local(call.closes_at),
        "cycle_start": call.cycle_start.isoformat(),
        "cycle_end": call.cycle_end.isoformat(),
        "grade_min": str(call.grade_min),
        "grade_max": str(call.grade_max),
        "rapid_access": call.rapid_access,
        "offers": [
            {
                "instrument": o.instrument_id,
                "instrument_code": o.instrument.code,
                "shifts_available": o.shifts_available,
                "rapid_shifts": o.rapid_shifts,
            }
            for o in call.offers.all()
        ],
    }


def proposal_json(proposal: Proposal, role: str, *, full: bool = True) -> dict:
    """`role`: team, office, reviewer (admins are shown as office)."""
    out: dict = {
        "id": proposal.pk,
        "call": proposal.call_id,
        "call_code": proposal.call.code,
        "facility": proposal.call.facility.code,
        "track": proposal.track,
        "status": proposal.status,
        "title": proposal.title,
        "viewer_role": role,
        "submitted_at": iso_local(proposal.submitted_at) if proposal.submitted_at else None,
    }
    if not full:
        return out
    out.update(
        abstract=proposal.abstract,
        samples=proposal.samples,
        hazards=proposal.hazards,
        preferred_dates=proposal.preferred_dates,
        impossible_dates=proposal.impossible_dates,
        earlier=[p.pk for p in proposal.earlier.all()] if role != "reviewer" else [],
        panel=proposal.panel if role == "office" else "",
        principal_investigator=proposal.principal_investigator.username,
        institution=proposal.institution.code,
        team=[
            {
                "username": m.user.username,
                "name": m.user.get_full_name(),
                "institution": m.institution.code,
                "role": m.role,
            }
            for m in proposal.members.select_related("user", "institution")
        ],
        requests=[
            {
                "id": r.pk,
                "instrument": r.instrument_id,
                "instrument_code": r.instrument.code,
                "shifts_requested": r.shifts_requested,
                "shifts_awarded": r.shifts_awarded if role != "reviewer" else None,
            }
            for r in proposal.requests.select_related("instrument")
        ],
        files=[
            {"id": f.pk, "name": f.name, "content_type": f.content_type, "size": f.size} for f in proposal.files.all()
        ],
        decision_comment=proposal.decision_comment if role != "reviewer" else "",
    )
    reviews = list(proposal.reviews.select_related("reviewer").order_by("pk"))
    if role == "office":
        out["reviews"] = [
            {
                "id": r.pk,
                "reviewer": r.reviewer.username,
                "grade": str(r.grade) if r.grade is not None else None,
                "comment": r.comment,
            }
            for r in reviews
        ]
        grade = selectors.mean_grade(proposal)
        out["mean_grade"] = str(grade) if grade is not None else None
    elif role == "team" and proposal.decided_at:
        out["reviews"] = [{"comment": r.comment} for r in reviews if r.comment]
    else:
        out["reviews"] = []
    out["checks"] = (
        [{"kind": c.kind, "passed": c.passed, "comment": c.comment} for c in proposal.checks.all()]
        if role in ("office", "team")
        else []
    )
    out["missing_reports"] = selectors.missing_reports(proposal) if role in ("office", "team") else []
    return out


def review_json(assignment: ReviewAssignment) -> dict:
    p = assignment.proposal
    return {
        "id": assignment.pk,
        "proposal": p.pk,
        "title": p.title,
        "call": str(p.call),
        "grade_min": str(p.call.grade_min),
        "grade_max": str(p.call.grade_max),
        "grade": str(assignment.grade) if assignment.grade is not None else None,
        "comment": assignment.comment,
        "graded_at": iso_local(assignment.graded_at) if assignment.graded_at else None,
    }


def session_json(session) -> dict:
    form = getattr(session, "safety_form", None)
    report = getattr(session, "report", None)
    return {
        "id": session.pk,
        "request": session.request_id,
        "instrument": session.request.instrument_id,
        "instrument_code": session.request.instrument.code,
        "booking": session.booking_id,
        "start": iso_local(session.booking.start),
        "end": iso_local(session.booking.end),
        "shifts": session.shifts,
        "state": session.state,
        "booking_status": session.booking.status,
        "lost_shifts": session.lost_shifts,
        "forfeited": session.forfeited,
        "blocked": is_blocked(session),
        "safety_deadline": iso_local(safety_deadline(session)),
        "safety_form": (
            {"submitted_at": iso_local(form.submitted_at), "approved": form.approved_at is not None} if form else None
        ),
        "report": bool(report),
    }


def ledger_json(row: selectors.Ledger) -> dict:
    return {
        "request": row.request_id,
        "instrument": row.instrument_id,
        "requested": row.requested,
        "awarded": row.awarded,
        "scheduled": row.scheduled,
        "used": row.used,
        "used_hours": str(row.used_hours),
        "lost": row.lost,
        "forfeited": row.forfeited,
        "to_schedule": row.to_schedule,
    }


def ranking_json(r: selectors.Ranking) -> dict:
    def dec(v):
        return str(v) if v is not None else None

    return {
        "instrument": r.instrument_id,
        "instrument_code": r.instrument_code,
        "panel": r.panel,
        "available": r.available,
        "partner_shifts": r.partner,
        "rapid_shifts": r.rapid,
        "panel_shifts": r.panel_shifts,
        "requested": r.requested,
        "oversubscription": dec(r.oversubscription),
        "cutoff_grade": dec(r.cutoff_grade),
        "proposals": [
            {
                "proposal": row.proposal_id,
                "title": row.title,
                "institution": row.institution,
                "status": row.status,
                "grade": dec(row.grade),
                "grades_in": row.grades_in,
                "reviewers": row.reviewers,
                "requested": row.requested,
                "awarded": row.awarded,
                "cumulative": row.cumulative,
                "above_cutoff": row.above_cutoff,
                "checks_passed": row.checks_passed,
            }
            for row in r.rows
        ],
    }
