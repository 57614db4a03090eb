"""A researcher drafts a proposal, edits it until the deadline, submits it, and may withdraw it later."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import Conflict
from facilities.models import Instrument, User
from facilities.selectors import researcher_institution

from ..models import Call, CallInstrument, Proposal, ProposalFile, ProposalMember, ShiftRequest
from ..states import MemberRole, ProposalStatus, Track
from .common import lock_proposal, move, record, require_team

MAX_TEAM = 30
TEXT_LIMITS = {"title": 300, "abstract": 5000, "samples": 3000, "hazards": 3000}
MAX_DATES = 60
# The types a proposal may carry, each with how its content starts.
FILE_TYPES = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".txt": ("text/plain", ()),
    ".csv": ("text/csv", ()),
}


def _dates(name: str, value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_DATES:
        raise ValidationError({name: _("Give a list of at most %(n)s dates (YYYY-MM-DD).") % {"n": MAX_DATES}})
    out = []
    for item in value:
        try:
            day = dt.date.fromisoformat(item) if isinstance(item, str) and len(item) == 10 else None
        except ValueError:
            day = None
        if day is None:
            raise ValidationError({name: _("%(value)r is not a date (YYYY-MM-DD).") % {"value": str(item)[:20]}})
        out.append(day.isoformat())
    return sorted(set(out))


def _editable(actor: User, proposal: Proposal, now: dt.datetime) -> None:
    require_team(actor, proposal)
    if proposal.status not in (ProposalStatus.DRAFT, ProposalStatus.SUBMITTED):
        raise Conflict(
            "not_editable",
            _("Proposal P%(id)s is %(status)s; it can no longer be edited.")
            % {"id": proposal.pk, "status": proposal.get_status_display().lower()},
        )
    if proposal.status == ProposalStatus.SUBMITTED and (
        proposal.track == Track.RAPID or now >= proposal.call.closes_at
    ):
        raise Conflict(
            "deadline_passed",
            _("Proposal P%(id)s can no longer be edited: the call has closed.") % {"id": proposal.pk},
        )


def _set_requests(proposal: Proposal, requests: list[dict]) -> None:
    if not isinstance(requests, list) or not requests or len(requests) > 20:
        raise ValidationError({"requests": _("Ask for shifts on 1 to 20 instruments of the call.")})
    offered = set(CallInstrument.objects.filter(call=proposal.call).values_list("instrument_id", flat=True))
    seen: set[int] = set()
    rows = []
    for item in requests:
        instrument, shifts = item.get("instrument"), item.get("shifts")
        if type(instrument) is not int or instrument not in offered:
            raise ValidationError(
                {"requests": _("Instrument %(id)r is not offered in this call.") % {"id": instrument}}
            )
        if type(shifts) is not int or not 1 <= shifts <= 200:
            raise ValidationError({"requests": _("Shifts (8 hours each) are a whole number from 1 to 200.")})
        if instrument in seen:
            raise ValidationError({"requests": _("Instrument %(id)s is named twice.") % {"id": instrument}})
        seen.add(instrument)
        rows.append(ShiftRequest(proposal=proposal, instrument_id=instrument, shifts_requested=shifts))
    ShiftRequest.objects.filter(proposal=proposal).delete()
    ShiftRequest.objects.bulk_create(rows)


def _set_team(proposal: Proposal, team: list[dict]) -> None:
    if not isinstance(team, list) or len(team) > MAX_TEAM:
        raise ValidationError({"team": _("A team has at most %(n)s co-proposers.") % {"n": MAX_TEAM}})
    rows = [
        ProposalMember(
            proposal=proposal,
            user=proposal.principal_investigator,
            institution=proposal.institution,
            role=MemberRole.PRINCIPAL_INVESTIGATOR,
        )
    ]
    seen = {proposal.principal_investigator_id}
    roles = {c for c, _ in MemberRole.choices} - {MemberRole.PRINCIPAL_INVESTIGATOR}
    for item in team:
        username, role = item.get("username"), item.get("role", MemberRole.CO_PROPOSER)
        user = User.objects.filter(username=username, is_active=True).first() if isinstance(username, str) else None
        if user is None:
            raise ValidationError({"team": _("No active user %(name)r.") % {"name": str(username)[:40]}})
        if role not in roles:
            raise ValidationError(
                {
                    "team": _("Role %(role)r is not one of %(roles)s.")
                    % {"role": str(role)[:20], "roles": ", ".join(sorted(roles))}
                }
            )
        if user.pk in seen:
            raise ValidationError({"team": _("%(name)s is named twice.") % {"name": user.username}})
        institution = user.primary_institution
        if institution is None:
            raise ValidationError({"team": _("%(name)s belongs to no institution.") % {"name": user.username}})
        seen.add(user.pk)
        rows.append(ProposalMember(proposal=proposal, user=user, institution=institution, role=role))
    ProposalMember.objects.filter(proposal=proposal).delete()
    ProposalMember.objects.bulk_create(rows)


def _apply(proposal: Proposal, actor: User, fields: dict) -> None:
    for name, limit in TEXT_LIMITS.items():
        if name in fields:
            value = fields[name]
            if not isinstance(value, str) or len(value) > limit:
                raise ValidationError({name: _("Give text of at most %(n)s characters.") % {"n": limit}})
            setattr(proposal, name, value.strip())
    if not proposal.title:
        raise ValidationError({"title": _("A proposal needs a title.")})
    for name in ("preferred_dates", "impossible_dates"):
        if name in fields:
            setattr(proposal, name, _dates(name, fields[name]))
    if set(proposal.preferred_dates) & set(proposal.impossible_dates):
        raise ValidationError({"preferred_dates": _("A date cannot be both preferred and impossible.")})
    proposal.save()
    if "earlier" in fields:
        ids = fields["earlier"]
        if not isinstance(ids, list) or any(type(i) is not int for i in ids) or len(ids) > 20:
            raise ValidationError({"earlier": _("Give up to 20 ids of earlier proposals.")})
        mine = Proposal.objects.filter(pk__in=ids, members__user=actor).exclude(pk=proposal.pk).distinct()
        if mine.count() != len(set(ids)):
            raise ValidationError({"earlier": _("Link only earlier proposals you are on.")})
        proposal.earlier.set(mine)
    if "team" in fields:
        _set_team(proposal, fields["team"])
    if "requests" in fields:
        _set_requests(proposal, fields["requests"])


def proposal_create(*, actor: User, call: Call, fields: dict, track: str = Track.REGULAR, now=None) -> Proposal:
    """Start a draft. `fields`: title, abstract, samples, hazards, preferred_dates, impossible_dates,
    earlier (ids), team ([{"username", "role"}]), requests ([{"instrument", "shifts"}])."""
    now = now or timezone.now()
    institution = researcher_institution(actor)
    if institution is None:
        raise PermissionDenied(_("Only researchers may write proposals; your account has no researcher role."))
    if track not in Track.values:
        raise ValidationError({"track": _("Track must be one of %(tracks)s.") % {"tracks": ", ".join(Track.values)}})
    if not call.accepts(track, now):
        raise ValidationError(
            {"call": _("Call %(call)s does not accept %(track)s proposals now.") % {"call": call, "track": track}}
        )
    with transaction.atomic():
        proposal = Proposal(call=call, track=track, principal_investigator=actor, institution=institution)
        proposal.title = ""
        if not isinstance(fields.get("title"), str) or not fields["title"].strip():
            raise ValidationError({"title": _("A proposal needs a title.")})
        proposal.title = fields["title"].strip()[:300]
        proposal.save()
        fields = {"team": [], **fields}
        _apply(proposal, actor, fields)
        record(proposal, actor, "created")
    return proposal


def proposal_update(*, actor: User, proposal_id: int, fields: dict, now=None) -> Proposal:
    now = now or timezone.now()
    with transaction.atomic():
        proposal = lock_proposal(actor, proposal_id)
        _editable(actor, proposal, now)
        _apply(proposal, actor, fields)
        record(proposal, actor, "edited", fields=sorted(fields))
    return proposal


def proposal_submit(*, actor: User, proposal_id: int, now=None) -> Proposal:
    from .notify import notify_office

    now = now or timezone.now()
    with transaction.atomic():
        proposal = lock_proposal(actor, proposal_id)
        require_team(actor, proposal)
        move(proposal, ProposalStatus.SUBMITTED, "submitted")
        if not proposal.call.accepts(proposal.track, now):
            raise ValidationError(
                {
                    "call": _("Call %(call)s no longer accepts %(track)s proposals.")
                    % {"call": proposal.call, "track": proposal.track}
                }
            )
        if not proposal.requests.exists():
            raise ValidationError({"requests": _("Ask for shifts on at least one instrument before submitting.")})
        if not proposal.abstract.strip():
            raise ValidationError({"abstract": _("Write an abstract before submitting.")})
        proposal.submitted_at = now
        proposal.save()
        record(proposal, actor, "submitted")
        notify_office(proposal, "submitted")
    return proposal


def proposal_withdraw(*, actor: User, proposal_id: int, reason: str = "") -> Proposal:
    with transaction.atomic():
        proposal = lock_proposal(actor, proposal_id)
        require_team(actor, proposal)
        move(proposal, ProposalStatus.WITHDRAWN, "withdrawn")
        if proposal.requests.filter(sessions__booking__status__in=["requested", "approved"]).exists():
            raise Conflict("has_sessions", _("Cancel the proposal's scheduled sessions before withdrawing it."))
        proposal.save()
        record(proposal, actor, "withdrawn", reason=reason[:500])
    return proposal


def proposal_attach(*, actor: User, proposal_id: int, upload: UploadedFile, now=None) -> ProposalFile:
    """Attach a file: its type by name and first bytes, its size within PROPOSALS_MAX_FILE_BYTES."""
    now = now or timezone.now()
    name = (upload.name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:150]
    ext = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if ext not in FILE_TYPES:
        raise ValidationError(
            {"file": _("Attach PDF, PNG, JPEG, text or CSV files; not %(ext)s.") % {"ext": ext or _("this type")}}
        )
    limit = settings.PROPOSALS_MAX_FILE_BYTES
    if upload.size is None or upload.size > limit or upload.size == 0:
        raise ValidationError({"file": _("A file must have content and be at most %(n)s bytes.") % {"n": limit}})
    content_type, magics = FILE_TYPES[ext]
    head = upload.read(16)
    upload.seek(0)
    if magics and not any(head.startswith(m) for m in magics):
        raise ValidationError(
            {"file": _("The content of %(name)s is not %(type)s.") % {"name": name, "type": content_type}}
        )
    if not magics and b"\x00" in upload.read(4096):
        raise ValidationError({"file": _("%(name)s is not a text file.") % {"name": name}})
    upload.seek(0)
    with transaction.atomic():
        proposal = lock_proposal(actor, proposal_id)
        _editable(actor, proposal, now)
        if proposal.files.count() >= 10:
            raise ValidationError({"file": _("A proposal carries at most 10 files.")})
        row = ProposalFile(proposal=proposal, name=name, content_type=content_type, size=upload.size, uploaded_by=actor)
        row.file.save(name, upload, save=False)
        row.save()
        record(proposal, actor, "file_attached", name=name)
    return row


def instruments_of(call: Call) -> list[Instrument]:
    return [o.instrument for o in CallInstrument.objects.filter(call=call).select_related("instrument")]
