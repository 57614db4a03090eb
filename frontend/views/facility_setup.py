"""The rest of managing a facility from the console (issue 16, item 9): weekly opening hours, and per
instrument its rates per user class, its charge policy and its co-building partners' time shares.
Thin: every write goes through the owning app's service, which checks the actor, audits and locks."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing.models import ChargePolicy
from billing.services.policies import POLICY_FIELDS, charge_policy_update
from facilities import services
from facilities.models import Institution, Instrument
from facilities.models.calendars import Weekday
from facilities.selectors import facility_settings

from ..errors import attach
from ..forms import ChargePolicyForm, HoursForm, RateForm, TimeShareForm
from .access import role_required
from .manager import MANAGERS, _facility_for


def _instruments(facility) -> list[Instrument]:
    return list(facility.instruments.filter(active=True).order_by("code"))


def _hours_context(facility, form=None) -> dict:
    instruments = _instruments(facility)
    spans = list(facility_settings(facility)["hours"].order_by("instrument__code", "weekday", "opens"))
    groups: list[dict] = []
    for scope in [None, *instruments]:
        rows = [s for s in spans if s.instrument_id == (scope.pk if scope else None)]
        if scope is None or rows:
            groups.append({"instrument": scope, "spans": rows})
    return {
        "facility": facility,
        "nav": "console",
        "groups": groups,
        "weekdays": Weekday,
        "form": form or HoursForm(instruments=instruments),
    }


@role_required(*MANAGERS)
def hours(request, code: str):
    """GET: the weekly hours of the facility and of instruments with their own; POST: add a span."""
    facility = _facility_for(request, code)
    if request.method != "POST":
        return render(request, "frontend/manager/hours.html", _hours_context(facility))
    form = HoursForm(request.POST, instruments=_instruments(facility))
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.operating_hours_add(
                actor=request.user,
                facility=facility,
                instrument=d["instrument"],
                weekday=d["weekday"],
                opens=d["opens"],
                closes=d["closes"],
            )
            messages.success(request, _("The opening hours are saved; the calendars show them now."))
            return redirect("frontend:facility_hours", code=facility.code)
        except ValidationError as exc:
            attach(form, exc)
    return render(request, "frontend/manager/hours.html", _hours_context(facility, form), status=400)


@require_POST
@role_required(*MANAGERS)
def hours_remove(request, code: str, pk: int):
    facility = _facility_for(request, code)
    span = get_object_or_404(facility.operating_hours, pk=pk)
    services.operating_hours_remove(actor=request.user, hours_id=span.pk)
    messages.success(request, _("The opening span is removed."))
    return redirect("frontend:facility_hours", code=facility.code)


def _pricing_context(facility, instrument, rate_form=None, policy_form=None, share_form=None) -> dict:
    policy = ChargePolicy.for_instrument(instrument.pk)
    return {
        "facility": facility,
        "instrument": instrument,
        "nav": "console",
        "rates": list(instrument.rates.order_by("user_class")),
        "shares": list(instrument.time_shares.select_related("institution").order_by("institution__code")),
        "rate_form": rate_form or RateForm(prefix="rate"),
        "policy_form": policy_form or ChargePolicyForm(instance=policy, prefix="policy"),
        "share_form": share_form or TimeShareForm(institutions=_institutions(), prefix="share"),
    }


def _institutions() -> list[Institution]:
    return list(Institution.objects.order_by("code")[:2000])


def _instrument_for(request, code: str, pk: int):
    facility = _facility_for(request, code)
    return facility, get_object_or_404(facility.instruments.select_related("facility"), pk=pk)


@role_required(*MANAGERS)
def pricing(request, code: str, pk: int):
    """An instrument's rates per user class, charge policy and partners' time shares."""
    facility, instrument = _instrument_for(request, code, pk)
    return render(request, "frontend/manager/pricing.html", _pricing_context(facility, instrument))


def _pricing_refused(request, facility, instrument, **forms):
    ctx = _pricing_context(facility, instrument, **forms)
    return render(request, "frontend/manager/pricing.html", ctx, status=400)


@require_POST
@role_required(*MANAGERS)
def rate_save(request, code: str, pk: int):
    facility, instrument = _instrument_for(request, code, pk)
    form = RateForm(request.POST, prefix="rate")
    if form.is_valid():
        try:
            card = services.rate_set(
                actor=request.user,
                instrument_id=instrument.pk,
                user_class=form.cleaned_data["user_class"],
                hourly_rate=form.cleaned_data["hourly_rate"],
            )
            messages.success(
                request,
                _("%(i)s charges %(cls)s %(rate)s CNY an hour from now on.")
                % {"i": instrument.code, "cls": card.get_user_class_display(), "rate": f"{card.hourly_rate:.2f}"},
            )
            return redirect("frontend:instrument_pricing", code=facility.code, pk=instrument.pk)
        except ValidationError as exc:
            attach(form, exc)
    return _pricing_refused(request, facility, instrument, rate_form=form)


@require_POST
@role_required(*MANAGERS)
def rate_withdraw(request, code: str, pk: int, user_class: str):
    facility, instrument = _instrument_for(request, code, pk)
    if services.rate_remove(actor=request.user, instrument_id=instrument.pk, user_class=user_class):
        messages.success(
            request, _("The rate is withdrawn; that user class now books %(i)s free.") % {"i": instrument.code}
        )
    else:
        messages.error(request, _("%(i)s publishes no rate for that user class.") % {"i": instrument.code})
    return redirect("frontend:instrument_pricing", code=facility.code, pk=instrument.pk)


@require_POST
@role_required(*MANAGERS)
def policy_save(request, code: str, pk: int):
    facility, instrument = _instrument_for(request, code, pk)
    current = ChargePolicy.for_instrument(instrument.pk)
    form = ChargePolicyForm(request.POST, instance=ChargePolicy.for_instrument(instrument.pk), prefix="policy")
    if form.is_valid():
        changes = {n: form.cleaned_data[n] for n in POLICY_FIELDS if form.cleaned_data[n] != getattr(current, n)}
        try:
            charge_policy_update(actor=request.user, instrument_id=instrument.pk, changes=changes)
            messages.success(request, _("The charge policy of %(i)s is saved.") % {"i": instrument.code})
            return redirect("frontend:instrument_pricing", code=facility.code, pk=instrument.pk)
        except ValidationError as exc:
            attach(form, exc)
    return _pricing_refused(request, facility, instrument, policy_form=form)


@require_POST
@role_required(*MANAGERS)
def share_save(request, code: str, pk: int):
    facility, instrument = _instrument_for(request, code, pk)
    form = TimeShareForm(request.POST, institutions=_institutions(), prefix="share")
    if form.is_valid():
        try:
            share = services.time_share_set(
                actor=request.user,
                instrument_id=instrument.pk,
                institution=form.cleaned_data["institution"],
                percent=form.cleaned_data["percent"],
            )
            messages.success(
                request,
                _("%(p)s keeps %(pct)s%% of the hours of %(i)s in each quarter.")
                % {"p": share.institution.code, "pct": share.percent, "i": instrument.code},
            )
            return redirect("frontend:instrument_pricing", code=facility.code, pk=instrument.pk)
        except ValidationError as exc:
            attach(form, exc)
    return _pricing_refused(request, facility, instrument, share_form=form)


@require_POST
@role_required(*MANAGERS)
def share_withdraw(request, code: str, pk: int, institution: int):
    facility, instrument = _instrument_for(request, code, pk)
    if services.time_share_remove(actor=request.user, instrument_id=instrument.pk, institution_id=institution):
        messages.success(request, _("The partner's share is withdrawn."))
    else:
        messages.error(request, _("That partner keeps no share of %(i)s.") % {"i": instrument.code})
    return redirect("frontend:instrument_pricing", code=facility.code, pk=instrument.pk)
