"""The facility manager's console: the approval queue (live over /ws/queue/), recording use, and
each managed facility's calendars, closures and qualifications."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from booking.models import Booking, CalendarFlag
from booking.selectors import bookings_visible_to
from booking.services import booking_approve, booking_complete, booking_no_show, booking_reject
from common.errors import Conflict
from facilities import selectors
from facilities.models import Closure, Facility, Instrument, QualificationRequest
from facilities.services import (
    closure_add,
    closure_remove,
    qualification_grant,
    qualification_request_decline,
    qualification_request_grant,
    qualification_revoke,
)
from usage.models import Suspension
from usage.services.violations import policy_for, suspension_decide, violation_policy_set

from ..errors import attach, messages_of
from ..forms import (
    AppealDecisionForm,
    ClosureForm,
    CompleteForm,
    DecisionForm,
    FlagMoveForm,
    QualificationDeclineForm,
    QualificationForm,
    QualificationGrantForm,
    RejectForm,
    ViolationPolicyForm,
)
from .access import role_required
from .queue import decorate, queue_queryset

MANAGERS = ("facility_manager", "platform_admin")
PAGE = 100


def managed_facilities(user):
    qs = Facility.objects.select_related("host").order_by("code")
    return qs if user.is_superuser else qs.filter(pk__in=selectors.managed_facility_ids(user))


def _managed_bookings(user):
    qs = bookings_visible_to(user).select_related("instrument__facility", "requester", "institution")
    return qs if user.is_superuser else qs.filter(instrument__facility_id__in=selectors.managed_facility_ids(user))


def _queue_context(request):
    now = timezone.now()
    mine = _managed_bookings(request.user)
    flags = CalendarFlag.objects.filter(status=CalendarFlag.Status.OPEN, booking__in=mine.values("pk"))
    return {
        "flags": list(
            flags.select_related(
                "booking__instrument__facility", "booking__requester", "booking__institution"
            ).order_by("booking__start", "id")[:PAGE]
        ),
        "queue": decorate(list(queue_queryset(mine.filter(status=Booking.Status.REQUESTED)).order_by("start")[:PAGE])),
        "to_record": list(mine.filter(status=Booking.Status.APPROVED, start__lte=now).order_by("start")[:PAGE]),
        "upcoming": list(mine.filter(status=Booking.Status.APPROVED, start__gt=now).order_by("start")[:PAGE]),
        "approve_form": DecisionForm(),
        "reject_form": RejectForm(auto_id=False),
        "complete_form": CompleteForm(auto_id=False),
    }


@role_required(*MANAGERS)
def console(request):
    ctx = _queue_context(request)
    ctx.update(nav="console", facilities=list(managed_facilities(request.user)))
    return render(request, "frontend/manager/console.html", ctx)


@role_required(*MANAGERS)
def console_queue(request):
    return render(request, "frontend/manager/queue.html", _queue_context(request))


def _back(request, fallback: str):
    nxt = request.POST.get("next") or ""
    return redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else fallback)


def _report(request, exc):
    for _field, text in messages_of(exc):
        messages.error(request, text)


@require_POST
@role_required(*MANAGERS)
def decide(request, pk: int, action: str):
    """Approve, reject, complete or mark a no-show; a refusal comes back as a message in words."""
    form_class = {"approve": DecisionForm, "reject": RejectForm, "complete": CompleteForm, "no-show": DecisionForm}.get(
        action
    )
    if form_class is None:
        raise Http404(_("No such action."))
    form = form_class(request.POST)
    if not form.is_valid():
        for errors in form.errors.as_data().values():
            for error in errors:
                for text in error.messages:
                    messages.error(request, text)
        return _back(request, reverse("frontend:console"))
    data = form.cleaned_data
    try:
        if action == "approve":
            b = booking_approve(actor=request.user, booking_id=pk, reason=data["reason"])
            messages.success(request, _("Booking #%(id)s is approved.") % {"id": b.pk})
        elif action == "reject":
            b = booking_reject(actor=request.user, booking_id=pk, reason=data["reason"])
            messages.success(request, _("Booking #%(id)s is rejected.") % {"id": b.pk})
        elif action == "complete":
            b = booking_complete(
                actor=request.user, booking_id=pk, actual_start=data["actual_start"], actual_end=data["actual_end"]
            )
            messages.success(request, _("Use of booking #%(id)s is recorded.") % {"id": b.pk})
        else:
            b = booking_no_show(actor=request.user, booking_id=pk, reason=data["reason"])
            messages.success(request, _("Booking #%(id)s is recorded as a no-show.") % {"id": b.pk})
    except (ValidationError, Conflict) as exc:  # 403 and 404 pass on to their pages
        _report(request, exc)
    return _back(request, reverse("frontend:console"))


@require_POST
@role_required(*MANAGERS)
def decide_many(request):
    """Approve or reject several requests at once, one service call each: what one refusal says does not
    stop the others, and each outcome is reported by booking number."""
    action = request.POST.get("action")
    if action not in ("approve", "reject"):
        messages.error(request, _("Choose Approve or Reject."))
        return _back(request, reverse("frontend:console"))
    ids: list[int] = []
    for raw in request.POST.getlist("ids")[:PAGE]:
        if not raw.isdigit() or len(raw) > 18:
            messages.error(request, _("%(v)s is not a booking number.") % {"v": raw[:20]})
            return _back(request, reverse("frontend:console"))
        ids.append(int(raw))
    if not ids:
        messages.error(request, _("Tick the requests to decide first."))
        return _back(request, reverse("frontend:console"))
    form = (RejectForm if action == "reject" else DecisionForm)(request.POST)
    if not form.is_valid():
        for errors in form.errors.as_data().values():
            for error in errors:
                for text in error.messages:
                    messages.error(request, text)
        return _back(request, reverse("frontend:console"))
    service = booking_approve if action == "approve" else booking_reject
    done = []
    for pk in dict.fromkeys(ids):
        try:
            service(actor=request.user, booking_id=pk, reason=form.cleaned_data["reason"])
            done.append(f"#{pk}")
        except (ValidationError, Conflict, PermissionDenied, Http404) as exc:
            text = " ".join(t for _f, t in messages_of(exc)) if not isinstance(exc, Http404) else _("not found")
            messages.error(request, _("Booking #%(id)s: %(why)s") % {"id": pk, "why": text})
    if done:
        template = _("Approved: %(ids)s.") if action == "approve" else _("Rejected: %(ids)s.")
        messages.success(request, template % {"ids": ", ".join(done)})
    return _back(request, reverse("frontend:console"))


@require_POST
@role_required(*MANAGERS)
def flag_decide(request, pk: int, action: str):
    """Keep, move or cancel a booking a calendar change put in closed time (booking/services/flags.py)."""
    from booking.services.flags import flag_cancel, flag_keep, flag_move

    if action not in ("keep", "move", "cancel"):
        raise Http404(_("No such action."))
    form = FlagMoveForm(request.POST) if action == "move" else DecisionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.as_data().values():
            for error in errors:
                for text in error.messages:
                    messages.error(request, text)
        return _back(request, reverse("frontend:console"))
    data = form.cleaned_data
    try:
        if action == "keep":
            flag = flag_keep(actor=request.user, flag_id=pk, note=data["reason"])
            messages.success(request, _("Booking #%(id)s is kept as booked.") % {"id": flag.booking_id})
        elif action == "move":
            flag = flag_move(actor=request.user, flag_id=pk, start=data["start"], end=data["end"], note=data["reason"])
            messages.success(request, _("Booking #%(id)s is moved.") % {"id": flag.booking_id})
        else:
            flag = flag_cancel(actor=request.user, flag_id=pk, note=data["reason"])
            messages.success(
                request, _("Booking #%(id)s is cancelled by the facility, at no cost.") % {"id": flag.booking_id}
            )
    except (ValidationError, Conflict) as exc:  # 403 and 404 pass on to their pages
        _report(request, exc)
    return _back(request, reverse("frontend:console"))


def _facility_for(request, code: str) -> Facility:
    facility = get_object_or_404(Facility, code=code)
    if not (request.user.is_superuser or selectors.is_manager_of(request.user, facility.pk)):
        raise Http404(_("No facility %(code)s among those you manage.") % {"code": code})
    return facility


def _policy_initial(facility) -> dict:
    p = policy_for(facility.pk)
    return {
        "active": p.active,
        "max_violations": p.max_violations,
        "window_days": p.window_days,
        "suspension_days": p.suspension_days,
        "short_use_percent": p.short_use_percent,
    }


def _facility_context(request, facility, closure_form=None, qualification_form=None, policy_form=None):
    from .utilisation import utilisation_for

    instruments = list(facility.instruments.filter(active=True).order_by("code"))
    now = timezone.now()
    ctx = {
        "facility": facility,
        "instruments": instruments,
        "nav": "console",
        "closures": list(
            Closure.objects.filter(facility=facility, end__gt=now).select_related("instrument").order_by("start")[:PAGE]
        ),
        "qualification_requests": list(
            QualificationRequest.objects.filter(
                instrument__facility=facility, status=QualificationRequest.Status.PENDING
            )
            .select_related("user", "instrument")
            .order_by("created_at", "id")[:PAGE]
        ),
        "grant_form": QualificationGrantForm(auto_id=False),
        "decline_form": QualificationDeclineForm(auto_id=False),
        "qualifications": list(
            selectors.current_qualifications()
            .filter(instrument__facility=facility)
            .select_related("user", "instrument")
            .order_by("instrument__code", "user__username")[: PAGE * 5]
        ),
        "closure_form": closure_form or ClosureForm(instruments=instruments, prefix="closure"),
        "qualification_form": qualification_form or QualificationForm(instruments=instruments, prefix="qual"),
        "appeals": list(
            Suspension.objects.filter(facility=facility, appeal=Suspension.Appeal.PENDING)
            .select_related("user")
            .prefetch_related("violations")
            .order_by("appealed_at", "id")[:PAGE]
        ),
        "appeal_form": AppealDecisionForm(auto_id=False),
        "policy_form": policy_form or ViolationPolicyForm(initial=_policy_initial(facility), prefix="policy"),
    }
    try:
        ctx["utilisation"] = utilisation_for(facility, request.GET.get("period") or None)
    except ValidationError as exc:
        ctx["utilisation"] = utilisation_for(facility)
        ctx["period_error"] = " ".join(text for _f, text in messages_of(exc))
    return ctx


@role_required(*MANAGERS)
def console_facility(request, code: str):
    facility = _facility_for(request, code)
    return render(request, "frontend/manager/facility.html", _facility_context(request, facility))


@require_POST
@role_required(*MANAGERS)
def closure_create(request, code: str):
    facility = _facility_for(request, code)
    instruments = list(facility.instruments.filter(active=True).order_by("code"))
    form = ClosureForm(request.POST, instruments=instruments, prefix="closure")
    if form.is_valid():
        d = form.cleaned_data
        try:
            closure_add(
                actor=request.user,
                facility=facility,
                instrument=d["instrument"],
                start=d["start"],
                end=d["end"],
                kind=d["kind"],
                reason=d["reason"],
            )
            messages.success(
                request,
                _(
                    "The closure is added; the calendars show it now. Held bookings it covers are listed on "
                    "the console, to keep, move or cancel."
                ),
            )
            return redirect("frontend:console_facility", code=facility.code)
        except ValidationError as exc:
            attach(form, exc)
    ctx = _facility_context(request, facility, closure_form=form)
    return render(request, "frontend/manager/facility.html", ctx, status=400)


@require_POST
@role_required(*MANAGERS)
def closure_delete(request, code: str, pk: int):
    facility = _facility_for(request, code)
    closure = get_object_or_404(Closure, pk=pk, facility=facility)
    closure_remove(actor=request.user, closure=closure)
    messages.success(request, _("The closure is removed."))
    return redirect("frontend:console_facility", code=facility.code)


@require_POST
@role_required(*MANAGERS)
def qualification_change(request, code: str, action: str):
    facility = _facility_for(request, code)
    instruments = list(facility.instruments.filter(active=True).order_by("code"))
    form = QualificationForm(request.POST, instruments=instruments, prefix="qual")
    if form.is_valid():
        person = selectors.user_by_username(form.cleaned_data["username"].strip())
        instrument = form.cleaned_data["instrument"]
        if person is None:
            form.add_error("username", _("Nobody has the username %(u)s.") % {"u": form.cleaned_data["username"]})
        elif action == "grant":
            try:
                q = qualification_grant(
                    actor=request.user,
                    user=person,
                    instrument=instrument,
                    expires_on=form.cleaned_data["until"],
                    keep_expiry=False,
                )
            except ValidationError as exc:
                attach(form, exc)
            else:
                if q.expires_at:
                    messages.success(
                        request,
                        _("%(u)s is qualified on %(i)s until %(d)s.")
                        % {"u": person.username, "i": instrument.code, "d": form.cleaned_data["until"]},
                    )
                else:
                    messages.success(
                        request, _("%(u)s is qualified on %(i)s.") % {"u": person.username, "i": instrument.code}
                    )
                return redirect("frontend:console_facility", code=facility.code)
        elif action == "revoke":
            if qualification_revoke(actor=request.user, user=person, instrument=instrument):
                messages.success(
                    request, _("%(u)s is no longer qualified on %(i)s.") % {"u": person.username, "i": instrument.code}
                )
                return redirect("frontend:console_facility", code=facility.code)
            form.add_error(
                None, _("%(u)s holds no qualification on %(i)s.") % {"u": person.username, "i": instrument.code}
            )
        else:
            raise Http404(_("No such action."))
    return render(
        request,
        "frontend/manager/facility.html",
        _facility_context(request, facility, qualification_form=form),
        status=400,
    )


@role_required(*MANAGERS)
def instrument_rules(request, code: str, pk: int):
    """An instrument's booking rules and auto-approval, changed by its facility's managers (audited)."""
    from facilities.services import RULE_FIELDS, instrument_rules_update

    from ..forms import InstrumentRulesForm

    facility = _facility_for(request, code)
    instrument = get_object_or_404(facility.instruments, pk=pk)
    if request.method == "POST":
        form = InstrumentRulesForm(request.POST, instance=Instrument.objects.get(pk=instrument.pk))
        if form.is_valid():
            changes = {
                name: form.cleaned_data[name]
                for name in RULE_FIELDS
                if form.cleaned_data[name] != getattr(instrument, name)
            }
            try:
                instrument_rules_update(actor=request.user, instrument_id=instrument.pk, changes=changes)
                messages.success(request, _("The rules of %(i)s are saved.") % {"i": instrument.code})
                return redirect("frontend:instrument_rules", code=facility.code, pk=instrument.pk)
            except ValidationError as exc:
                attach(form, exc)
        status = 400
    else:
        form = InstrumentRulesForm(instance=instrument)
        status = 200
    ctx = {"facility": facility, "instrument": instrument, "form": form, "nav": "console"}
    return render(request, "frontend/manager/instrument_rules.html", ctx, status=status)


@require_POST
@role_required(*MANAGERS)
def appeal_decide(request, code: str, pk: int, action: str):
    """Grant (lift the suspension) or refuse a pending appeal, with the reason the user is told."""
    facility = _facility_for(request, code)
    if action not in ("grant", "refuse"):
        raise Http404(_("No such action."))
    back = reverse("frontend:console_facility", args=[facility.code])
    form = AppealDecisionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for text in errors:
                messages.error(request, str(text))
        return redirect(back)
    try:  # PermissionDenied (a suspension of another facility) passes on to its page
        s = suspension_decide(
            actor=request.user, suspension_id=pk, grant=action == "grant", reason=form.cleaned_data["reason"]
        )
        if action == "grant":
            messages.success(request, _("The appeal is granted; %(user)s may book again.") % {"user": s.user})
        else:
            messages.success(request, _("The appeal is refused; the suspension stands."))
    except (ValidationError, Conflict) as exc:
        _report(request, exc)
    return redirect(back)


@require_POST
@role_required(*MANAGERS)
def violation_policy(request, code: str):
    facility = _facility_for(request, code)
    form = ViolationPolicyForm(request.POST, prefix="policy")
    if form.is_valid():
        try:
            violation_policy_set(actor=request.user, facility_id=facility.pk, **form.cleaned_data)
            messages.success(request, _("The violation policy of %(code)s is saved.") % {"code": facility.code})
            return redirect("frontend:console_facility", code=facility.code)
        except ValidationError as exc:
            attach(form, exc)
    ctx = _facility_context(request, facility, policy_form=form)
    return render(request, "frontend/manager/facility.html", ctx, status=400)


@require_POST
@role_required(*MANAGERS)
def qualification_request_decide(request, code: str, pk: int, action: str):
    """Grant (optionally until a day) or decline a pending qualification request of this facility."""
    facility = _facility_for(request, code)
    request_row = get_object_or_404(QualificationRequest, pk=pk, instrument__facility=facility)
    back = reverse("frontend:console_facility", args=[facility.code]) + "#qualification-requests"
    form_class = {"grant": QualificationGrantForm, "decline": QualificationDeclineForm}.get(action)
    if form_class is None:
        raise Http404(_("No such action."))
    form = form_class(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for text in errors:
                messages.error(request, str(text))
        return redirect(back)
    try:
        if action == "grant":
            done = qualification_request_grant(
                actor=request.user, request_id=request_row.pk, expires_on=form.cleaned_data["expires_on"]
            )
            messages.success(
                request,
                _("%(u)s is qualified on %(i)s.") % {"u": done.user.username, "i": done.instrument.code},
            )
        else:
            done = qualification_request_decline(
                actor=request.user, request_id=request_row.pk, reason=form.cleaned_data["reason"]
            )
            messages.success(request, _("The request is declined; %(u)s is told why.") % {"u": done.user.username})
    except (ValidationError, Conflict) as exc:
        _report(request, exc)
    return redirect(back)
