"""Reads of calls and proposals, each scoped to the asking user.

Who sees a proposal: its team (PI and co-proposers), the user office of the call's facility, platform
administrators, and reviewers assigned to it — but never a reviewer with a conflict of interest (a
member of the team, or at an institution of a team member), even if an assignment slipped through.
Reviewers see neither the other reviewers nor the facility's ranking; the team sees comments, never
who wrote them.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Exists, OuterRef, Q, QuerySet

from booking.holds import HELD_STATUSES
from booking.models import Booking
from facilities.models import Membership, TimeShare
from facilities.models.tenants import Role
from usage.selectors import merge_spans, used_spans

from .models import SHIFT, BeamSession, Call, CallInstrument, Proposal, ProposalMember, ReviewAssignment, ShiftRequest
from .states import CheckKind, ProposalStatus, Track


def office_facility_ids(user) -> set[int]:
    """Facilities whose calls this user runs: listed on a user-office membership."""
    if not getattr(user, "is_authenticated", False):
        return set()
    rows = Membership.objects.filter(user=user, role=Role.USER_OFFICE).values_list("facilities__id", flat=True)
    return set(rows) - {None}


def runs_calls_of(user, facility_id: int) -> bool:
    return bool(getattr(user, "is_superuser", False)) or facility_id in office_facility_ids(user)


def is_reviewer(user) -> bool:
    return getattr(user, "is_authenticated", False) and (
        Membership.objects.filter(user=user, role=Role.REVIEWER).exists()
    )


def user_institution_ids(user) -> set[int]:
    return set(Membership.objects.filter(user=user).values_list("institution_id", flat=True))


def conflicted(reviewer, proposal: Proposal) -> bool:
    """A conflict of interest: the reviewer is on the team, or shares an institution with a member."""
    team = ProposalMember.objects.filter(proposal=proposal)
    if team.filter(user=reviewer).exists() or proposal.principal_investigator_id == reviewer.pk:
        return True
    mine = user_institution_ids(reviewer)
    theirs = set(team.values_list("institution_id", flat=True)) | {proposal.institution_id}
    theirs |= set(Membership.objects.filter(user__in=team.values("user")).values_list("institution_id", flat=True))
    return bool(mine & theirs)


def _conflict_free(qs: QuerySet[Proposal], reviewer) -> QuerySet[Proposal]:
    mine = list(user_institution_ids(reviewer))
    team_member_institution = Membership.objects.filter(
        user__proposal_memberships__proposal=OuterRef("pk"), institution_id__in=mine
    )
    return (
        qs.exclude(principal_investigator=reviewer)
        .exclude(institution_id__in=mine)
        .exclude(members__user=reviewer)
        .exclude(members__institution_id__in=mine)
        .exclude(Exists(team_member_institution))
    )


def proposals_visible_to(user) -> QuerySet[Proposal]:
    if not getattr(user, "is_authenticated", False):
        return Proposal.objects.none()
    qs = Proposal.objects.select_related("call", "call__facility", "institution", "principal_investigator")
    if user.is_superuser:
        return qs
    office = office_facility_ids(user)
    as_office_or_team = (
        Q(call__facility_id__in=office) & ~Q(status=ProposalStatus.DRAFT)
        | Q(principal_investigator=user)
        | Q(members__user=user)
    )
    seen = set(qs.filter(as_office_or_team).values_list("pk", flat=True))
    reviewing = _conflict_free(
        qs.filter(reviews__reviewer=user).exclude(status__in=[ProposalStatus.DRAFT, ProposalStatus.WITHDRAWN]), user
    )
    seen |= set(reviewing.values_list("pk", flat=True))
    return qs.filter(pk__in=seen)


def reviews_of(user) -> QuerySet[ReviewAssignment]:
    """A reviewer's own assignments, conflict-free and not withdrawn."""
    if not getattr(user, "is_authenticated", False):
        return ReviewAssignment.objects.none()
    allowed = _conflict_free(Proposal.objects.exclude(status=ProposalStatus.WITHDRAWN), user)
    return (
        ReviewAssignment.objects.filter(reviewer=user, proposal__in=allowed)
        .select_related("proposal", "proposal__call", "proposal__call__facility")
        .order_by("proposal__call__closes_at", "proposal_id")
    )


def role_on(user, proposal: Proposal) -> str:
    """'team', 'office', 'reviewer' or '' — how this user relates to the proposal (admins count as office)."""
    if not getattr(user, "is_authenticated", False):
        return ""
    if proposal.principal_investigator_id == user.pk or proposal.members.filter(user=user).exists():
        return "team"
    if runs_calls_of(user, proposal.call.facility_id):
        return "office"
    if reviews_of(user).filter(proposal=proposal).exists():
        return "reviewer"
    return ""


def calls_visible_to(user) -> QuerySet[Call]:
    """Calls are public: anyone may read what is offered."""
    return Call.objects.select_related("facility").prefetch_related("offers__instrument")


def mean_grade(proposal: Proposal) -> Decimal | None:
    grades = [r.grade for r in proposal.reviews.all() if r.grade is not None]
    if not grades:
        return None
    return (sum(grades, Decimal("0")) / len(grades)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def checks_passed(proposal: Proposal) -> bool:
    passed = {c.kind for c in proposal.checks.all() if c.passed}
    return passed >= {CheckKind.FEASIBILITY, CheckKind.SAFETY}


@dataclass
class Pool:
    """The shifts of one instrument in one call and who may have them."""

    available: int
    partner: int  # kept for co-building partners (their time shares)
    rapid: int  # kept for rapid access
    returned: int = 0  # forfeited or lost to faults: back to rapid access and the waitlist

    @property
    def panel(self) -> int:
        return max(self.available - self.partner - self.rapid, 0)


def pools(call: Call) -> dict[int, Pool]:
    offers = list(CallInstrument.objects.filter(call=call))
    shares: dict[int, Decimal] = defaultdict(Decimal)
    for share in TimeShare.objects.filter(instrument_id__in=[o.instrument_id for o in offers]):
        shares[share.instrument_id] += share.percent
    out = {}
    for offer in offers:
        partner = int((offer.shifts_available * shares[offer.instrument_id] / 100).to_integral_value(ROUND_HALF_UP))
        partner = min(partner, offer.shifts_available - offer.rapid_shifts)
        out[offer.instrument_id] = Pool(offer.shifts_available, partner, offer.rapid_shifts)
    for row in ledgers_for(ShiftRequest.objects.filter(proposal__call=call)):
        if row.instrument_id in out:
            out[row.instrument_id].returned += row.forfeited + row.lost
    return out


@dataclass
class RankedRow:
    proposal_id: int
    title: str
    institution: str
    panel: str
    track: str
    status: str
    grade: Decimal | None
    grades_in: int
    reviewers: int
    requested: int
    awarded: int | None
    cumulative: int
    above_cutoff: bool
    checks_passed: bool


@dataclass
class Ranking:
    instrument_id: int
    instrument_code: str
    panel: str
    available: int
    partner: int
    rapid: int
    panel_shifts: int
    requested: int
    oversubscription: Decimal | None
    cutoff_grade: Decimal | None
    rows: list[RankedRow] = field(default_factory=list)


def ranking(call: Call) -> list[Ranking]:
    """Per instrument and panel: submitted regular proposals ranked by mean grade (best first; ungraded
    last), with the cumulative shifts requested; the cutoff is the grade of the last proposal whose
    request still fits in the panel's shifts of that instrument."""
    requests = list(
        ShiftRequest.objects.filter(
            proposal__call=call,
            proposal__track=Track.REGULAR,
            proposal__status__in=[ProposalStatus.SUBMITTED, ProposalStatus.AWARDED, ProposalStatus.DECLINED],
        )
        .select_related("instrument", "proposal", "proposal__institution")
        .prefetch_related("proposal__reviews", "proposal__checks")
    )
    pool = pools(call)
    groups: dict[tuple[int, str], list[ShiftRequest]] = defaultdict(list)
    for r in requests:
        groups[(r.instrument_id, r.proposal.panel)].append(r)
    out = []
    for (instrument_id, panel), rows in sorted(groups.items(), key=lambda kv: (kv[1][0].instrument.code, kv[0][1])):
        p = pool.get(instrument_id) or Pool(0, 0, 0)
        graded = [(mean_grade(r.proposal), r) for r in rows]
        graded.sort(key=lambda g: (g[0] is None, -(g[0] or 0), g[1].proposal_id))
        cumulative, cutoff, ranked = 0, None, []
        for grade, r in graded:
            cumulative += r.shifts_requested
            fits = grade is not None and cumulative <= p.panel
            if fits:
                cutoff = grade
            ranked.append(
                RankedRow(
                    proposal_id=r.proposal_id,
                    title=r.proposal.title,
                    institution=r.proposal.institution.code,
                    panel=panel,
                    track=r.proposal.track,
                    status=r.proposal.status,
                    grade=grade,
                    grades_in=sum(1 for v in r.proposal.reviews.all() if v.grade is not None),
                    reviewers=len(r.proposal.reviews.all()),
                    requested=r.shifts_requested,
                    awarded=r.shifts_awarded,
                    cumulative=cumulative,
                    above_cutoff=fits,
                    checks_passed=checks_passed(r.proposal),
                )
            )
        requested = sum(r.shifts_requested for r in rows)
        out.append(
            Ranking(
                instrument_id=instrument_id,
                instrument_code=rows[0].instrument.code,
                panel=panel,
                available=p.available,
                partner=p.partner,
                rapid=p.rapid,
                panel_shifts=p.panel,
                requested=requested,
                oversubscription=(Decimal(requested) / p.panel).quantize(Decimal("0.01")) if p.panel else None,
                cutoff_grade=cutoff,
                rows=ranked,
            )
        )
    return out


@dataclass
class Ledger:
    request_id: int
    proposal_id: int
    instrument_id: int
    requested: int
    awarded: int
    scheduled: int = 0
    used: int = 0
    lost: int = 0
    forfeited: int = 0
    used_minutes: int = 0  # recorded use within the sessions' shifts

    @property
    def to_schedule(self) -> int:
        return max(self.awarded - self.scheduled - self.used - self.lost - self.forfeited, 0)

    @property
    def used_hours(self) -> Decimal:
        return (Decimal(self.used_minutes) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _used_in_shifts(session: BeamSession, spans: list[tuple[dt.datetime, dt.datetime]]) -> tuple[int, float]:
    """(shifts of the session during which use was recorded, seconds of use within its shifts)."""
    start = session.booking.start
    shifts, seconds = 0, 0.0
    merged = merge_spans(spans)
    for n in range(session.shifts):
        lo, hi = start + SHIFT * n, start + SHIFT * (n + 1)
        inside = sum(max(0.0, (min(e, hi) - max(s, lo)).total_seconds()) for s, e in merged)
        if inside > 0:
            shifts += 1
            seconds += inside
    return shifts, seconds


def ledgers_for(requests: QuerySet[ShiftRequest]) -> list[Ledger]:
    """The shift ledger of each request: awarded → scheduled → used → lost to machine faults → forfeited.

    - scheduled: sessions whose booking holds time (requested or approved), less what a fault took;
    - used: from recorded use, the one definition of used time (`usage.selectors.used_spans`, decision
      0024: the booking's usage sessions, else its recorded actual times, else its booked times once it
      was completed) — each of a session's 8-hour shifts during which use was recorded counts, at most
      the session's shifts less those lost; `used_minutes` is that use within the shifts;
    - lost: shifts the user office recorded as lost to machine faults (the usage app records use, not
      faults);
    - forfeited: sessions the team cancelled late with no substitute, no-shows and sessions never cleared
      for safety (rejected at their start), and the shifts of an ended session nobody used.

    A session cancelled in time returns its shifts to be scheduled again. Three queries for the sessions'
    use, whatever their number."""
    rows = {
        r.pk: Ledger(r.pk, r.proposal_id, r.instrument_id, r.shifts_requested, r.shifts_awarded or 0)
        for r in requests.order_by("pk")
    }
    sessions = list(BeamSession.objects.filter(request_id__in=list(rows)).select_related("booking"))
    ended = [s for s in sessions if s.booking.status in (Booking.Status.COMPLETED, Booking.Status.NO_SHOW)]
    use: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    if ended:
        for span in used_spans(
            instrument_ids={s.booking.instrument_id for s in ended},
            start=min(s.booking.start for s in ended),
            end=max(s.booking.end for s in ended),
        ):
            if span.booking_id is not None:
                use[span.booking_id].append((span.start, span.end))
    for s in sessions:
        row = rows[s.request_id]
        status = s.booking.status
        if s.state == BeamSession.State.FAULT or s.lost_shifts:
            row.lost += s.lost_shifts
        left = s.shifts - s.lost_shifts
        if status in HELD_STATUSES:
            row.scheduled += left
        elif status in (Booking.Status.COMPLETED, Booking.Status.NO_SHOW):
            shifts, seconds = _used_in_shifts(s, use.get(s.booking_id, []))
            row.used += min(shifts, left)
            row.used_minutes += int(seconds // 60)
            row.forfeited += left - min(shifts, left)
        elif s.forfeited or status == Booking.Status.REJECTED:
            row.forfeited += left
    return list(rows.values())


def sessions_of(proposal: Proposal) -> QuerySet[BeamSession]:
    return (
        BeamSession.objects.filter(request__proposal=proposal)
        .select_related("booking", "request__instrument", "safety_form", "report")
        .order_by("booking__start", "pk")
    )


def missing_reports(proposal: Proposal) -> list[int]:
    """Used sessions of the team's earlier proposals (same PI) still without an experiment report."""
    return list(
        BeamSession.objects.filter(
            request__proposal__principal_investigator_id=proposal.principal_investigator_id,
            booking__status=Booking.Status.COMPLETED,
            report__isnull=True,
        )
        .exclude(request__proposal=proposal)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
