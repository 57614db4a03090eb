"""Pages for beamtime by proposal: the researcher's proposals and the form to write one, the reviewer's
assignments, the user office's ranking, awards and scheduling. Thin adapters over proposals' services
and selectors; what a page shows depends on how the reader relates to the proposal."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from common.errors import Conflict
from common.parsing import parse_aware
from common.time import local_tz
from facilities.models import Facility, Instrument
from proposals import selectors, services
from proposals.models import Call, ProposalFile, ShiftRequest
from proposals.states import CheckKind, Track

from ..errors import messages_of


def _int(value, name: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({name: _("Give a whole number.")}) from None
    if not 0 <= number <= 100000:
        raise ValidationError({name: _("Give a whole number.")})
    return number


def _words(value: str) -> list[str]:
    return [w for w in value.replace(",", " ").split() if w]


@login_required
def proposals_home(request):
    user = request.user
    visible = selectors.proposals_visible_to(user)
    office = selectors.office_facility_ids(user)
    ctx = {
        "nav": "proposals",
        "mine": list(visible.filter(members__user=user).distinct().order_by("-created_at")[:100]),
        "reviews": list(selectors.reviews_of(user)[:100]),
        "office_calls": list(Call.objects.filter(facility_id__in=office).select_related("facility")[:50])
        if office or user.is_superuser
        else [],
        "can_open_calls": bool(office) or user.is_superuser,
        "open_calls": [
            c
            for c in Call.objects.select_related("facility").order_by("-opens_at")[:50]
            if c.accepts(Track.RAPID, timezone.now())
        ],
    }
    return render(request, "frontend/proposals/home.html", ctx)


@login_required
def proposals_mine(request):
    """The table of one's own proposals alone, fetched again when /ws/me/ says something changed."""
    mine = selectors.proposals_visible_to(request.user).filter(members__user=request.user).distinct()
    return render(request, "frontend/proposals/mine.html", {"mine": list(mine.order_by("-created_at")[:100])})


@login_required
def proposal_new(request):
    call = (
        Call.objects.select_related("facility")
        .filter(pk=_safe_id(request.GET.get("call") or request.POST.get("call")))
        .first()
    )
    if call is None:
        raise Http404(_("No such call."))
    offers = list(call.offers.select_related("instrument"))
    if request.method == "POST":
        post = request.POST
        try:
            requests = [
                {"instrument": o.instrument_id, "shifts": _int(post.get(f"shifts_{o.instrument_id}") or 0, "requests")}
                for o in offers
            ]
            fields = {
                "title": post.get("title", ""),
                "abstract": post.get("abstract", ""),
                "samples": post.get("samples", ""),
                "hazards": post.get("hazards", ""),
                "preferred_dates": _words(post.get("preferred_dates", "")),
                "impossible_dates": _words(post.get("impossible_dates", "")),
                "team": [{"username": u, "role": "co_proposer"} for u in _words(post.get("team", ""))],
                "requests": [r for r in requests if r["shifts"] > 0],
            }
            proposal = services.proposal_create(
                actor=request.user, call=call, fields=fields, track=post.get("track", Track.REGULAR)
            )
            for upload in request.FILES.getlist("files")[:10]:
                services.proposal_attach(actor=request.user, proposal_id=proposal.pk, upload=upload)
            if post.get("submit"):
                services.proposal_submit(actor=request.user, proposal_id=proposal.pk)
            messages.success(request, _("Proposal P%(id)s is saved.") % {"id": proposal.pk})
            return redirect("frontend:proposal", proposal.pk)
        except (ValidationError, Conflict) as exc:
            for _field, text in messages_of(exc):
                messages.error(request, text)
    return render(
        request,
        "frontend/proposals/new.html",
        {"nav": "proposals", "call": call, "offers": offers, "tracks": Track.choices, "data": request.POST},
    )


def _safe_id(value) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return 0
    return number if 0 < number < 2**53 else 0


@login_required
def proposal_detail(request, pk: int):
    proposal = selectors.proposals_visible_to(request.user).filter(pk=pk).first()
    if proposal is None:
        raise Http404(_("No such proposal, or you may not see it."))
    role = selectors.role_on(request.user, proposal)
    from proposals.api.serializers import proposal_json, session_json

    shown = proposal_json(proposal, role)
    ctx = {
        "nav": "proposals",
        "p": proposal,
        "shown": shown,
        "role": role,
        "check_kinds": CheckKind.choices,
        "my_review": selectors.reviews_of(request.user).filter(proposal=proposal).first()
        if role == "reviewer"
        else None,
    }
    if role in ("team", "office"):
        ctx["sessions"] = [session_json(s) for s in selectors.sessions_of(proposal)]
        ctx["ledger"] = selectors.ledgers_for(ShiftRequest.objects.filter(proposal=proposal))
        ctx["instrument_codes"] = {r["instrument"]: r["instrument_code"] for r in shown["requests"]}
    if role == "office":
        ctx["suggestions"] = {
            r.pk: services.suggest_slots(request=r, shifts=1, count=3)
            for r in proposal.requests.filter(shifts_awarded__gt=0).select_related("instrument", "proposal__call")
        }
    return render(request, "frontend/proposals/detail.html", ctx)


@require_POST
@login_required
def proposal_action(request, pk: int, action: str):
    """One form per action; the service decides who may, and 403/404 pass on to their pages."""
    post, user = request.POST, request.user
    try:
        if action == "submit":
            services.proposal_submit(actor=user, proposal_id=pk)
        elif action == "withdraw":
            services.proposal_withdraw(actor=user, proposal_id=pk)
        elif action == "check":
            services.check_record(
                actor=user,
                proposal_id=pk,
                kind=post.get("kind", ""),
                passed=post.get("passed") == "yes",
                comment=post.get("comment", ""),
            )
        elif action == "panel":
            services.panel_set(actor=user, proposal_id=pk, panel=post.get("panel", ""))
        elif action == "assign":
            services.reviewer_assign(actor=user, proposal_id=pk, reviewer_username=post.get("reviewer", "").strip())
        elif action == "grade":
            services.review_grade(
                actor=user,
                assignment_id=_safe_id(post.get("assignment")),
                grade=post.get("grade", ""),
                comment=post.get("comment", ""),
            )
        elif action == "award":
            awards = {
                _safe_id(key.removeprefix("award_")): _int(value or 0, "awards")
                for key, value in post.items()
                if key.startswith("award_")
            }
            services.proposal_award(actor=user, proposal_id=pk, awards=awards, comment=post.get("comment", ""))
        elif action == "place":
            start = parse_aware(post.get("start", ""), "start")
            services.session_place(
                actor=user,
                request_id=_safe_id(post.get("request")),
                start=start,
                shifts=_int(post.get("shifts"), "shifts"),
            )
        elif action in ("confirm", "cancel", "approve_safety", "safety", "report"):
            sid = _safe_id(post.get("session"))
            if action == "confirm":
                services.session_confirm(actor=user, session_id=sid)
            elif action == "cancel":
                services.session_cancel(actor=user, session_id=sid)
            elif action == "approve_safety":
                services.safety_approve(actor=user, session_id=sid)
            elif action == "safety":
                services.safety_submit(actor=user, session_id=sid, content=post.get("content", ""))
            else:
                services.report_submit(actor=user, session_id=sid, summary=post.get("content", ""))
        else:
            raise Http404(_("No such action."))
        messages.success(request, _("Done."))
    except (ValidationError, Conflict) as exc:
        for _field, text in messages_of(exc):
            messages.error(request, text)
    return redirect(reverse("frontend:proposal", args=[pk]))


@login_required
def proposal_file(request, pk: int, file_id: int):
    proposal = selectors.proposals_visible_to(request.user).filter(pk=pk).first()
    row = ProposalFile.objects.filter(pk=file_id, proposal=proposal).first() if proposal else None
    if row is None:
        raise Http404(_("No such file."))
    response = FileResponse(row.file.open("rb"), content_type=row.content_type, as_attachment=True, filename=row.name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def call_ranking(request, pk: int):
    call = Call.objects.select_related("facility").filter(pk=pk).first()
    if call is None:
        raise Http404(_("No such call."))
    if not selectors.runs_calls_of(request.user, call.facility_id):
        raise PermissionDenied(_("Only the call's user office sees its ranking."))
    return render(
        request,
        "frontend/proposals/ranking.html",
        {"nav": "proposals", "call": call, "rankings": selectors.ranking(call)},
    )


def _local_moment(value: str, name: str) -> dt.datetime:
    try:
        naive = dt.datetime.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        raise ValidationError({name: _("Give a date and time.")}) from None
    return naive if naive.tzinfo else naive.replace(tzinfo=local_tz())


def _day(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        raise ValidationError({name: _("Give a date (YYYY-MM-DD).")}) from None


@login_required
def call_new(request):
    """The user office opens a call: offers are lines of "instrument-code shifts [rapid-shifts]"."""
    facilities = Facility.objects.filter(pk__in=selectors.office_facility_ids(request.user)).order_by("code")
    if request.user.is_superuser:
        facilities = Facility.objects.order_by("code")
    if not facilities.exists():
        raise PermissionDenied(_("Only a facility's user office opens calls."))
    if request.method == "POST":
        post = request.POST
        try:
            facility = facilities.filter(pk=_safe_id(post.get("facility"))).first()
            if facility is None:
                raise ValidationError({"facility": _("Choose a facility you run.")})
            offers = []
            for line in post.get("offers", "").splitlines():
                parts = line.split()
                if not parts:
                    continue
                instrument = Instrument.objects.filter(facility=facility, code=parts[0]).first()
                if instrument is None or len(parts) not in (2, 3):
                    raise ValidationError({"offers": _("Each line: instrument code, shifts, and rapid-access shifts.")})
                offers.append(
                    {
                        "instrument": instrument.pk,
                        "shifts_available": _int(parts[1], "offers"),
                        "rapid_shifts": _int(parts[2], "offers") if len(parts) == 3 else 0,
                    }
                )
            call = services.call_create(
                actor=request.user,
                facility=facility,
                code=post.get("code", "").strip()[:32],
                title=post.get("title", "").strip()[:200],
                title_zh=post.get("title_zh", "").strip()[:200],
                opens_at=_local_moment(post.get("opens_at", ""), "opens_at"),
                closes_at=_local_moment(post.get("closes_at", ""), "closes_at"),
                cycle_start=_day(post.get("cycle_start", ""), "cycle_start"),
                cycle_end=_day(post.get("cycle_end", ""), "cycle_end"),
                offers=offers,
            )
            messages.success(request, _("Call %(code)s is open.") % {"code": call.code})
            return redirect("frontend:call_ranking", call.pk)
        except (ValidationError, Conflict) as exc:
            for _field, text in messages_of(exc):
                messages.error(request, text)
    return render(
        request,
        "frontend/proposals/call_new.html",
        {"nav": "proposals", "facilities": facilities, "data": request.POST},
    )
