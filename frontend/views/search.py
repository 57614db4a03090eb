"""Joint search: when are several instruments all free for the same span? Then book them together,
all or nothing, as one bundle."""

import datetime as dt
import math
from typing import cast

from django import forms
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _l

from common.time import local_tz
from facilities import selectors

from ..errors import REFUSALS, attach
from ..forms import local_datetime_field
from ..templatetags.sanjiao import zh_or_en

MAX_WINDOWS_SHOWN = 60


class SearchForm(forms.Form):
    instruments = forms.MultipleChoiceField(label=_l("Instruments"), widget=forms.SelectMultiple(attrs={"size": 10}))
    duration_minutes = forms.IntegerField(
        label=_l("Duration (minutes)"), min_value=1, max_value=60 * 24 * 31, initial=240
    )
    start = forms.DateField(label=_l("From (date)"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_l("Until (date, not included)"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        groups: dict[str, list] = {}
        for i in selectors.instrument_list():
            label = f"{i.facility.code} — {zh_or_en(i.facility)}"
            groups.setdefault(label, []).append((str(i.pk), f"{i.code} — {zh_or_en(i)}"))
        cast(forms.MultipleChoiceField, self.fields["instruments"]).choices = list(groups.items())

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("instruments") and len(data["instruments"]) < 2:
            self.add_error("instruments", _l("Pick at least two instruments to search together."))
        return data

    def window(self) -> tuple[dt.datetime, dt.datetime]:
        tz = local_tz()
        return (
            dt.datetime.combine(self.cleaned_data["start"], dt.time(0), tz),
            dt.datetime.combine(self.cleaned_data["end"], dt.time(0), tz),
        )


class BundleForm(forms.Form):
    purpose = forms.CharField(label=_l("Purpose"), required=False, max_length=2000)

    def __init__(self, *args, step_minutes=60, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slot_start"] = local_datetime_field(_l("Start"), step_minutes)


def _search(request, form):
    from booking.search import bookable_instruments, joint_windows

    ctx = {"form": form, "nav": "search"}
    if not form.is_bound or not form.is_valid():
        return ctx
    try:
        instruments = bookable_instruments([int(x) for x in form.cleaned_data["instruments"]])
        start, end = form.window()
        duration = form.cleaned_data["duration_minutes"]
        windows = joint_windows(
            instruments=instruments, duration_minutes=duration, start=start, end=end, now=timezone.now()
        )
    except REFUSALS as exc:
        attach(form, exc)
        return ctx
    step = math.lcm(*(i.booking_unit_minutes for i in instruments))
    ctx.update(
        instruments=instruments,
        duration=dt.timedelta(minutes=duration),
        step=step,
        windows=[
            {"start": s, "end": e, "last_start": e - dt.timedelta(minutes=duration)}
            for s, e in windows[:MAX_WINDOWS_SHOWN]
        ],
        more=max(0, len(windows) - MAX_WINDOWS_SHOWN),
        may_book="researcher" in selectors.roles_of(request.user),
    )
    return ctx


def joint_search(request):
    initial = {"start": timezone.localdate() + dt.timedelta(days=1), "end": timezone.localdate() + dt.timedelta(days=8)}
    form = SearchForm(request.GET or None, initial=initial)
    ctx = _search(request, form)
    if ctx.get("windows"):
        ctx["bundle_form"] = BundleForm(step_minutes=ctx["step"])
    return render(request, "frontend/search.html", ctx)


def book_bundle(request):
    """Book every searched instrument for the same span; a refusal comes back on the page, nothing written."""
    from django.core.exceptions import PermissionDenied

    from booking.services.bundles import booking_bundle_request

    if request.method != "POST":
        from django.http import HttpResponseNotAllowed

        return HttpResponseNotAllowed(["POST"])
    if not request.user.is_authenticated:
        raise PermissionDenied(_l("Sign in as a researcher to book."))
    form = SearchForm(request.POST)
    ctx = _search(request, form)
    status = 400
    if ctx.get("instruments"):
        bundle_form = BundleForm(request.POST, step_minutes=ctx["step"])
        ctx["bundle_form"] = bundle_form
        if bundle_form.is_valid():
            s = bundle_form.cleaned_data["slot_start"]
            items = [{"instrument": i, "start": s, "end": s + ctx["duration"]} for i in ctx["instruments"]]
            try:
                ctx["bundle"], ctx["bundle_bookings"] = booking_bundle_request(
                    requester=request.user, items=items, purpose=bundle_form.cleaned_data["purpose"]
                )
                status = 200
            except REFUSALS as exc:
                attach(bundle_form, exc)
                status = 409 if exc.__class__.__name__ == "Conflict" else 400
    return render(request, "frontend/search.html", ctx, status=status)
