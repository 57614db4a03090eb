"""Calls, proposals, their review and awards, and the sessions that put awarded shifts on the calendar.

A session's time is a `booking.Booking` of kind `beamtime`, written through the one slot-taking path,
so sessions and hourly bookings share the calendar and the no-overlap constraint
(docs/decisions/0019-beamtime-sessions-are-bookings.md).
"""

import datetime as dt
from decimal import Decimal

from auditlog.registry import auditlog
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from common.audit import attributed_to

from .states import (
    PROPOSAL_TRANSITIONS,
    SESSION_TRANSITIONS,
    CheckKind,
    MemberRole,
    ProposalStatus,
    SessionState,
    Track,
)

SHIFT = dt.timedelta(hours=8)


class Call(models.Model):
    """A facility's call for proposals: a submission window, a cycle in which awarded time is scheduled,
    the instruments offered with their shifts, and the facility's grading scale (higher is better)."""

    facility = models.ForeignKey("facilities.Facility", on_delete=models.PROTECT, related_name="calls")
    code = models.CharField(max_length=32, help_text=_("E.g. 2027-1."))
    title = models.CharField(max_length=200)
    title_zh = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True, max_length=5000)
    description_zh = models.TextField(blank=True, max_length=5000)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField(help_text=_("The submission deadline of regular proposals."))
    cycle_start = models.DateField(help_text=_("First day on which awarded shifts are scheduled."))
    cycle_end = models.DateField(help_text=_("Last day on which awarded shifts are scheduled."))
    grade_min = models.DecimalField(max_digits=4, decimal_places=1, default=Decimal("1.0"))
    grade_max = models.DecimalField(max_digits=4, decimal_places=1, default=Decimal("5.0"))
    rapid_access = models.BooleanField(
        default=True, help_text=_("Rapid-access proposals may be submitted until the cycle ends.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-opens_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "code"],
                name="call_code_once_per_facility",
                violation_error_message=_("The facility already has a call with this code."),
            ),
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")),
                name="call_closes_after_opening",
                violation_error_message=_("A call must close after it opens."),
            ),
            models.CheckConstraint(
                condition=Q(cycle_end__gte=F("cycle_start")),
                name="call_cycle_ordered",
                violation_error_message=_("A cycle must end on or after it starts."),
            ),
            models.CheckConstraint(
                condition=Q(grade_max__gt=F("grade_min")),
                name="call_grade_scale_ordered",
                violation_error_message=_("The best grade must be above the lowest."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.facility.code} {self.code}"

    def accepts(self, track: str, now: dt.datetime) -> bool:
        if track == Track.RAPID:
            return self.rapid_access and self.opens_at <= now and now.date() <= self.cycle_end
        return self.opens_at <= now < self.closes_at


class CallInstrument(models.Model):
    """An instrument offered in a call: the 8-hour shifts available in the cycle, of which some are kept
    for rapid access. Co-building partners' time shares (facilities.TimeShare) are kept from the panel's
    pool too (`selectors.pools`)."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="offers")
    instrument = models.ForeignKey("facilities.Instrument", on_delete=models.PROTECT, related_name="call_offers")
    shifts_available = models.PositiveIntegerField()
    rapid_shifts = models.PositiveIntegerField(default=0, help_text=_("Shifts kept for rapid access."))

    class Meta:
        ordering = ["call", "instrument__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["call", "instrument"],
                name="call_offers_instrument_once",
                violation_error_message=_("The call already offers this instrument."),
            ),
            models.CheckConstraint(
                condition=Q(rapid_shifts__lte=F("shifts_available")),
                name="call_rapid_within_available",
                violation_error_message=_("Rapid-access shifts cannot exceed the shifts available."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.call}: {self.instrument_id} × {self.shifts_available}"


class Proposal(models.Model):
    Status = ProposalStatus

    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="proposals")
    track = models.CharField(max_length=16, choices=Track.choices, default=Track.REGULAR)
    principal_investigator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposals_led"
    )
    institution = models.ForeignKey(
        "facilities.Institution", on_delete=models.PROTECT, related_name="proposals", help_text=_("The PI's.")
    )
    title = models.CharField(max_length=300)
    abstract = models.TextField(max_length=5000, blank=True)
    samples = models.TextField(max_length=3000, blank=True)
    hazards = models.TextField(max_length=3000, blank=True)
    preferred_dates = models.JSONField(default=list, blank=True, help_text=_("ISO dates the team prefers."))
    impossible_dates = models.JSONField(default=list, blank=True, help_text=_("ISO dates the team cannot come."))
    earlier = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="later")
    panel = models.CharField(max_length=64, blank=True, help_text=_("The review panel, set by the user office."))
    status = models.CharField(max_length=16, choices=ProposalStatus.choices, default=ProposalStatus.DRAFT)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True, max_length=3000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["call", "status"], name="proposal_call_status")]

    def __str__(self) -> str:
        return f"P{self.pk} {self.title[:40]}"

    def can_transition(self, to: str) -> bool:
        return to in PROPOSAL_TRANSITIONS.get(self.status, set())


class ProposalMember(models.Model):
    """The team. The PI is a member too; co-proposers may come from any institution."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposal_memberships")
    institution = models.ForeignKey("facilities.Institution", on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=16, choices=MemberRole.choices, default=MemberRole.CO_PROPOSER)

    class Meta:
        ordering = ["proposal", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "user"],
                name="proposal_member_once",
                violation_error_message=_("This person is already on the team."),
            )
        ]

    def __str__(self) -> str:
        return f"P{self.proposal_id}: {self.user_id} ({self.role})"


class ShiftRequest(models.Model):
    """Shifts asked for, and awarded, on one instrument: the head of that instrument's shift ledger."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="requests")
    instrument = models.ForeignKey("facilities.Instrument", on_delete=models.PROTECT, related_name="shift_requests")
    shifts_requested = models.PositiveIntegerField()
    shifts_awarded = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["proposal", "instrument__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "instrument"],
                name="shift_request_once_per_instrument",
                violation_error_message=_("The proposal already asks for this instrument."),
            ),
            models.CheckConstraint(
                condition=Q(shifts_requested__gte=1),
                name="shift_request_at_least_one",
                violation_error_message=_("Ask for at least one shift."),
            ),
            models.CheckConstraint(
                condition=Q(shifts_awarded__isnull=True) | Q(shifts_awarded__lte=F("shifts_requested")),
                name="shift_award_within_request",
                violation_error_message=_("A proposal cannot be awarded more shifts than it asked for."),
            ),
        ]

    def __str__(self) -> str:
        return f"P{self.proposal_id} · {self.instrument_id}: {self.shifts_awarded}/{self.shifts_requested}"


def proposal_file_path(instance: "ProposalFile", filename: str) -> str:
    return f"proposals/{instance.proposal_id}/{filename}"


class ProposalFile(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(upload_to=proposal_file_path, max_length=300)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["proposal", "id"]

    def __str__(self) -> str:
        return self.name


class StaffCheck(models.Model):
    """The facility's feasibility check and safety pre-screen, one of each per proposal."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="checks")
    kind = models.CharField(max_length=16, choices=CheckKind.choices)
    passed = models.BooleanField()
    comment = models.TextField(blank=True, max_length=3000)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["proposal", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "kind"],
                name="staff_check_once_per_kind",
                violation_error_message=_("This check is already recorded; change it instead."),
            )
        ]

    def __str__(self) -> str:
        return f"P{self.proposal_id} {self.kind}: {'pass' if self.passed else 'fail'}"


class ReviewAssignment(models.Model):
    """A reviewer assigned to a proposal, and their grade. Never assigned across a conflict of interest
    (services.review.assign_reviewer), and never shown across one (selectors)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_assignments")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(auto_now_add=True)
    grade = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    comment = models.TextField(blank=True, max_length=5000)
    graded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["proposal", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "reviewer"],
                name="review_assignment_once",
                violation_error_message=_("This reviewer is already assigned to the proposal."),
            )
        ]

    def __str__(self) -> str:
        return f"P{self.proposal_id} ← {self.reviewer_id}: {self.grade}"


class BeamSession(models.Model):
    """Awarded shifts placed on the instrument's calendar: one booking of kind beamtime."""

    State = SessionState

    request = models.ForeignKey(ShiftRequest, on_delete=models.PROTECT, related_name="sessions")
    booking = models.OneToOneField("booking.Booking", on_delete=models.PROTECT, related_name="beam_session")
    shifts = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=SessionState.choices, default=SessionState.PLACED)
    lost_shifts = models.PositiveIntegerField(default=0, help_text=_("Shifts lost to machine faults."))
    forfeited = models.BooleanField(default=False, help_text=_("Cancelled late by the team, with no substitute."))
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["booking__start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(shifts__gte=1),
                name="session_at_least_one_shift",
                violation_error_message=_("A session is at least one shift."),
            ),
            models.CheckConstraint(
                condition=Q(lost_shifts__lte=F("shifts")),
                name="session_lost_within_shifts",
                violation_error_message=_("A session cannot lose more shifts than it has."),
            ),
        ]

    def __str__(self) -> str:
        return f"session #{self.pk} ({self.shifts} shifts, {self.state})"

    def can_transition(self, to: str) -> bool:
        return to in SESSION_TRANSITIONS.get(self.state, set())


class SafetyForm(models.Model):
    """What the team will bring and do; approved by the facility before the session may run."""

    session = models.OneToOneField(BeamSession, on_delete=models.CASCADE, related_name="safety_form")
    content = models.TextField(max_length=5000)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(auto_now=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"safety form of session #{self.session_id}"


class ExperimentReport(models.Model):
    session = models.OneToOneField(BeamSession, on_delete=models.CASCADE, related_name="report")
    summary = models.TextField(max_length=10000)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"report of session #{self.session_id}"


class ProposalEvent(models.Model):
    """What happened to a proposal, in words the team and the office read (auditlog keeps field changes)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    verb = models.CharField(max_length=32)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"P{self.proposal_id}: {self.verb}"


class ProposalNotice(models.Model):
    """Once-only record of a mail about a proposal: claimed (unique) before it is sent."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=32)
    key = models.CharField(max_length=64, blank=True)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["proposal", "kind", "key", "recipient"], name="proposal_notice_once")
        ]

    def __str__(self) -> str:
        return f"P{self.proposal_id} {self.kind} → {self.recipient_id}"


# The audit trail files every change of a call and its proposals under the facility's host only: the
# user office's institution oversees them, and filing reviews under the proposers' institutions would
# name the reviewers, who stay anonymous to the team.
_HOST_PATH = {
    Call: ("facility",),
    CallInstrument: ("call", "facility"),
    Proposal: ("call", "facility"),
    ProposalMember: ("proposal", "call", "facility"),
    ShiftRequest: ("proposal", "call", "facility"),
    ProposalFile: ("proposal", "call", "facility"),
    StaffCheck: ("proposal", "call", "facility"),
    ReviewAssignment: ("proposal", "call", "facility"),
    BeamSession: ("request", "proposal", "call", "facility"),
    SafetyForm: ("session", "request", "proposal", "call", "facility"),
    ExperimentReport: ("session", "request", "proposal", "call", "facility"),
}


def _filed_under_host(self) -> dict:
    obj = self
    for name in _HOST_PATH[type(self)]:
        obj = getattr(obj, name)
    return attributed_to(obj.host_id)


for _model in _HOST_PATH:
    _model.get_additional_data = _filed_under_host  # type: ignore[attr-defined]

for _model in (
    Call,
    CallInstrument,
    Proposal,
    ProposalMember,
    ShiftRequest,
    ProposalFile,
    StaffCheck,
    ReviewAssignment,
    BeamSession,
    SafetyForm,
    ExperimentReport,
):
    auditlog.register(_model)
