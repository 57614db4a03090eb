"""An instrument's week calendar (live over /ws/availability/) and booking it."""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from booking.selectors import availability, own_held
from booking.services import booking_request
from booking.services.requests import requester_institution
from booking.services.series import booking_series_request
from common.errors import Conflict
from facilities import selectors
from facilities.calendar import weekly_hours
from facilities.holidays import provisional_years
from facilities.models import Instrument, Membership
from facilities.models.catalog import UserClass
from facilities.models.tenants import Role
from usage.selectors import open_session
from usage.services.sessions import may_manage

from .. import pricing
from ..errors import REFUSALS, attach, messages_of
from ..forms import BookingForm, QualificationAskForm
from ..week import build_week, estimate, parse_week, week_start


def _week(request, instrument, start, day=None) -> dict:
    """The week calendar's context: the cells (the viewer's own bookings told apart, always-closed hours
    left out) and the availability version they were drawn from."""
    end = start + dt.timedelta(days=7)
    avail = availability(instrument, start, end)
    week = build_week(
        instrument,
        avail,
        start,
        mine=own_held(request.user, instrument.pk, start, end),
        hours=weekly_hours(instrument),
        day=day,
    )
    return {"week": week, "version": avail["version"]}


def _instrument(pk: int) -> Instrument:
    return get_object_or_404(selectors.instrument_list().select_related("facility__host"), pk=pk)


def _booker(user):
    """The researcher membership a booking would be made under, or None for who may not book."""
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(user=user, role=Role.RESEARCHER).select_related("institution").order_by("id").first()
    )


def _form_context(request, instrument, data=None, initial=None):
    membership = _booker(request.user)
    ctx = {"instrument": instrument, "membership": membership}
    if instrument.requires_qualification:
        # Known before the form is filled: qualified (until when), asked, declined, or may ask.
        ctx["qualification"] = selectors.qualification_state(user=request.user, instrument=instrument)
        ctx["ask_form"] = QualificationAskForm(auto_id="ask-%s")
    if membership is None:
        if request.user.is_authenticated:
            # Why this person may not book, in the words of the one rule that decides it.
            try:
                requester_institution(request.user)
            except PermissionDenied as refusal:
                ctx["refusal"] = str(refusal)
        return ctx
    accounts = list(selectors.accounts_chargeable_by(request.user).filter(active=True).order_by("code"))
    form = BookingForm(
        data,
        initial=initial,
        instrument=instrument,
        accounts=accounts,
        default_account_id=request.user.default_account_id or (accounts[0].pk if accounts else None),
    )
    klass = pricing.user_class(membership.institution, instrument)
    ctx.update(form=form, user_class=UserClass(klass).label, rate=pricing.hourly_rate(instrument, klass))
    return ctx


def _provisional_year(instrument, form) -> int | None:
    """The year of the time in the form, when the instrument closes on public holidays and that year's
    schedule is not published yet (its holidays are provisional)."""
    if form is None or not instrument.facility.follows_office_calendar:
        return None
    start = getattr(form, "cleaned_data", {}).get("start") if form.is_bound else form.initial.get("start")
    day = timezone.localtime(start).date() if start else timezone.localdate()
    return day.year if provisional_years([day.year]) else None


def _estimate_for(form, rate):
    """The cost estimate for what the form holds now, with each named account's share."""
    if form.is_bound:
        data = getattr(form, "cleaned_data", {})
        start, end = data.get("start"), data.get("end")
        pairs = [(a, data.get(f"split_{a.pk}")) for a in form.accounts]
    else:
        start, end = form.initial.get("start"), form.initial.get("end")
        pairs = [(a, form.fields[f"split_{a.pk}"].initial) for a in form.accounts]
    chosen = [(a, Decimal(p)) for a, p in pairs if p]
    result = estimate(rate, start, end, [p for _, p in chosen])
    if result and result["shares"]:
        result["lines"] = [(a, p, share) for (a, p), share in zip(chosen, result["shares"], strict=True)]
    return result


def _prefill(request, instrument):
    initial = {}
    form = BookingForm(
        {"start": request.GET.get("start", ""), "end": request.GET.get("end", ""), "split_0": ""},
        instrument=instrument,
        accounts=[],
    )
    form.is_valid()
    for name in ("start", "end"):
        if form.cleaned_data.get(name):
            initial[name] = timezone.localtime(form.cleaned_data[name])
    return initial


@require_GET
def instrument_page(request, pk: int):
    instrument = _instrument(pk)
    start = week_start(parse_week(request.GET.get("week")))
    ctx = _form_context(request, instrument, initial=_prefill(request, instrument))
    if ctx.get("form") is not None:
        ctx["estimate"] = _estimate_for(ctx["form"], ctx["rate"])
        ctx["provisional_year"] = _provisional_year(instrument, ctx["form"])
    ctx.update(_week(request, instrument, start, parse_week(request.GET.get("day"))))
    ctx.update(
        nav="catalog",
        in_use=open_session(instrument.pk),
        manages=request.user.is_authenticated and may_manage(request.user, instrument),
    )
    return render(request, "frontend/instrument.html", ctx)


@require_GET
def week_fragment(request, pk: int):
    """The week calendar alone, drawn again by the page whenever the live availability says it changed."""
    instrument = _instrument(pk)
    start = week_start(parse_week(request.GET.get("week")))
    ctx = {"instrument": instrument, **_week(request, instrument, start, parse_week(request.GET.get("day")))}
    return render(request, "frontend/partials/week_table.html", ctx)


@require_http_methods(["GET", "POST"])
def book(request, pk: int):
    """GET: the form prefilled from a clicked cell. POST: ask for the booking; refusals in place."""
    instrument = _instrument(pk)
    if request.method == "GET":
        ctx = _form_context(request, instrument, initial=_prefill(request, instrument))
        if ctx.get("form") is not None:
            ctx["estimate"] = _estimate_for(ctx["form"], ctx["rate"])
            ctx["provisional_year"] = _provisional_year(instrument, ctx["form"])
        return render(request, "frontend/partials/booking_form.html", ctx)
    ctx = _form_context(request, instrument, data=request.POST)
    form = ctx.get("form")
    status = 200
    if form is None:
        status = 403
    elif form.is_valid():
        d = form.cleaned_data
        try:
            if (d.get("repeat") or 1) > 1:
                result = booking_series_request(
                    requester=request.user,
                    instrument=instrument,
                    start=d["start"],
                    end=d["end"],
                    count=d["repeat"],
                    interval_weeks=d.get("interval_weeks") or 1,
                    purpose=d["purpose"],
                    splits=form.splits(),
                    skip_conflicts=d.get("skip_taken", False),
                )
                ctx["series"] = result
            else:
                # The service the API calls: the same rules in the same order, so the same first answer.
                ctx["booking"] = booking_request(
                    requester=request.user,
                    instrument=instrument,
                    start=d["start"],
                    end=d["end"],
                    purpose=d["purpose"],
                    splits=form.splits(),
                )
        except REFUSALS as exc:
            attach(form, exc)
            status = 409 if isinstance(exc, Conflict) else 400
            # A held slot can still be waited for: offer the waitlist for exactly that time.
            ctx["may_wait"] = isinstance(exc, Conflict) and exc.code == "slot_unavailable"
    else:
        status = 400
    if form is not None:
        ctx["estimate"] = _estimate_for(form, ctx["rate"])
        ctx["provisional_year"] = _provisional_year(instrument, form)
    if request.htmx:
        # htmx swaps only 2xx answers by default; refusals are part of the page, so answer 200.
        return render(request, "frontend/partials/booking_form.html", ctx)
    start = week_start(
        form.cleaned_data["start"].date() if form is not None and form.cleaned_data.get("start") else None
    )
    ctx.update(_week(request, instrument, start))
    ctx.update(
        nav="catalog",
        in_use=open_session(instrument.pk),
        manages=request.user.is_authenticated and may_manage(request.user, instrument),
    )
    return render(request, "frontend/instrument.html", ctx, status=status)


@require_GET
def estimate_view(request, pk: int):
    instrument = _instrument(pk)
    ctx = _form_context(request, instrument, data=request.GET)
    form = ctx.get("form")
    if form is not None:
        form.is_valid()
        ctx["estimate"] = _estimate_for(form, ctx["rate"])
    return render(request, "frontend/partials/estimate.html", ctx)


@require_http_methods(["POST"])
def join_waitlist(request, pk: int):
    """Queue for a held time; the first in line is offered it when it frees."""
    from booking.services.waitlist import waitlist_join

    instrument = _instrument(pk)
    ctx = _form_context(request, instrument, data=request.POST)
    form = ctx.get("form")
    if form is None:
        return render(request, "frontend/partials/booking_form.html", ctx, status=403)
    status = 200
    if form.is_valid():
        try:
            ctx["waiting"] = waitlist_join(
                user=request.user, instrument=instrument, start=form.cleaned_data["start"], end=form.cleaned_data["end"]
            )
        except REFUSALS as exc:
            attach(form, exc)
            status = 400
    else:
        status = 400
    ctx["estimate"] = _estimate_for(form, ctx["rate"])
    return render(request, "frontend/partials/booking_form.html", ctx, status=200 if request.htmx else status)


@require_POST
def ask_qualification(request, pk: int):
    """Ask the facility's managers to qualify the signed-in person on this instrument."""
    from facilities.services import qualification_request_create

    instrument = _instrument(pk)
    back = redirect("frontend:instrument", pk=instrument.pk)
    if not request.user.is_authenticated:
        return redirect(f"{settings.LOGIN_URL}?next=/instruments/{instrument.pk}/")
    form = QualificationAskForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for text in errors:
                messages.error(request, str(text))
        return back
    try:
        qualification_request_create(actor=request.user, instrument_id=instrument.pk, note=form.cleaned_data["note"])
        messages.success(
            request,
            _("Your request is sent to the managers of %(code)s; you are mailed their decision.")
            % {"code": instrument.facility.code},
        )
    except REFUSALS as exc:
        for _field, text in messages_of(exc):
            messages.error(request, text)
    return back
