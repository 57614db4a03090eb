"""Joint search: when are several instruments all free for the same span, and bookable by the one
searching? Then book them together, all or nothing, as one bundle, paid by the accounts they choose."""

import datetime as dt
import math
from decimal import Decimal
from typing import cast

from django import forms
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _l

from common.time import local_tz
from facilities import selectors

from .. import pricing
from ..errors import REFUSALS, attach
from ..forms import local_datetime_field
from ..templatetags.sanjiao import zh_or_en
from ..week import estimate, largest_remainder

MAX_WINDOWS_SHOWN = 60


class SearchForm(forms.Form):
    instruments = forms.MultipleChoiceField(
        label=_l("Instruments"),
        widget=forms.SelectMultiple(
            attrs={
                "size": 10,
                "data-searchable": "instruments",
                "data-filter-label": _l("Filter the list (code, name, facility; English or Chinese)"),
                "data-chosen-label": _l("Picked:"),
            }
        ),
    )
    duration_hours = forms.DecimalField(
        label=_l("Duration (hours)"),
        min_value=Decimal("0.25"),
        max_value=24 * 31,
        decimal_places=2,
        initial=4,
        widget=forms.NumberInput(attrs={"step": "0.25", "inputmode": "decimal"}),
    )
    start = forms.DateField(label=_l("From (date)"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_l("Until (date, not included)"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, accounts=(), default_account_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        groups: dict[str, list] = {}
        for i in selectors.instrument_list():
            label = f"{i.facility.code} — {zh_or_en(i.facility)}"
            groups.setdefault(label, []).append((str(i.pk), f"{i.code} — {zh_or_en(i)}"))
        cast(forms.MultipleChoiceField, self.fields["instruments"]).choices = list(groups.items())
        # Who pays: each account the searcher may charge, with a share in percent (the bookings' splits).
        self.accounts = list(accounts)
        self.default_account_id = default_account_id
        for account in self.accounts:
            self.fields[f"split_{account.pk}"] = forms.DecimalField(
                label=f"{account.code} — {zh_or_en(account, 'title')}",
                required=False,
                min_value=Decimal("0"),
                max_value=Decimal("100"),
                decimal_places=2,
                initial=100 if account.pk == default_account_id else None,
                widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
            )

    def main_fields(self):
        return [self[name] for name in ("instruments", "duration_hours", "start", "end")]

    def split_fields(self):
        return [self[f"split_{a.pk}"] for a in self.accounts]

    def clean_duration_hours(self):
        hours = self.cleaned_data["duration_hours"]
        if (hours * 60) % 1:
            raise forms.ValidationError(_l("Give the duration in whole minutes (for example 1.5 or 0.25 hours)."))
        return hours

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("instruments") and len(data["instruments"]) < 2:
            self.add_error("instruments", _l("Pick at least two instruments to search together."))
        # No share given: the default account pays all, as for any booking.
        shares = [data.get(f"split_{a.pk}") or Decimal(0) for a in self.accounts]
        if any(shares):
            if sum(shares) != 100:
                raise forms.ValidationError(_l("The payers' shares must add up to 100 percent."))
        return data

    @property
    def duration_minutes(self) -> int:
        return int(self.cleaned_data["duration_hours"] * 60)

    def splits(self) -> list[dict]:
        return [
            {"account": a.pk, "percent": str(self.cleaned_data[f"split_{a.pk}"])}
            for a in self.accounts
            if self.cleaned_data.get(f"split_{a.pk}")
        ]

    def payers(self) -> list[dict]:
        """The shares as chosen, or the default account paying all."""
        if self.splits():
            return self.splits()
        default = self.default_account_id
        return [{"account": default, "percent": "100"}] if default else []

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


def _search_form(request, data=None) -> SearchForm:
    """The form, with the payers' fields for a researcher (their chargeable accounts)."""
    initial = {"start": timezone.localdate() + dt.timedelta(days=1), "end": timezone.localdate() + dt.timedelta(days=8)}
    accounts: list = []
    default = None
    if "researcher" in selectors.roles_of(request.user):
        accounts = list(selectors.accounts_chargeable_by(request.user).filter(active=True).order_by("code"))
        default = request.user.default_account_id or (accounts[0].pk if accounts else None)
    return SearchForm(data, initial=initial, accounts=accounts, default_account_id=default)


def _costs(request, form: SearchForm, instruments, duration: dt.timedelta) -> dict | None:
    """What a bundle costs the searcher at the published rates, per instrument, and each payer's share."""
    institution = selectors.researcher_institution(request.user)
    if institution is None:
        return None
    start = timezone.now()
    lines = []
    for instrument in instruments:
        rate = pricing.hourly_rate(instrument, pricing.user_class(institution, instrument))
        lines.append((instrument, estimate(rate, start, start + duration, [])))
    known = [e["total"] for _i, e in lines if e]
    total = sum(known, Decimal("0.00"))
    splits = form.payers()
    percents = [Decimal(s["percent"]) for s in splits]
    shares = largest_remainder(int(total * 100), percents) if percents and sum(percents) == 100 else []
    by_id = {a.pk: a for a in form.accounts}
    return {
        "lines": lines,
        "total": total,
        "complete": len(known) == len(lines),
        "payers": [(by_id[s["account"]], s["percent"], Decimal(f) / 100) for s, f in zip(splits, shares, strict=True)],
    }


def _search(request, form):
    from booking.search import bookable_instruments, joint_windows, windows_bookable_by

    ctx = {"form": form, "nav": "search"}
    if not form.is_bound or not form.is_valid():
        return ctx
    now = timezone.now()
    may_book = "researcher" in selectors.roles_of(request.user)
    try:
        instruments = bookable_instruments([int(x) for x in form.cleaned_data["instruments"]])
        start, end = form.window()
        duration = form.duration_minutes
        windows = joint_windows(instruments=instruments, duration_minutes=duration, start=start, end=end, now=now)
        reasons: list[str] = []
        if may_book:
            # Only what the searcher may book: their qualifications, limits and time shares.
            free = len(windows)
            windows, reasons = windows_bookable_by(
                requester=request.user,
                instruments=instruments,
                windows=windows,
                duration_minutes=duration,
                now=now,
                limit=MAX_WINDOWS_SHOWN + 1,
            )
            # Past the windows shown, the free ones are not checked: "more" counts those (at most).
            more = free - MAX_WINDOWS_SHOWN if len(windows) > MAX_WINDOWS_SHOWN else 0
        else:
            more = max(0, len(windows) - MAX_WINDOWS_SHOWN)
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
        more=more,
        reasons=reasons,
        may_book=may_book,
        costs=_costs(request, form, instruments, dt.timedelta(minutes=duration)) if may_book else None,
        hidden_splits=[(f"split_{a.pk}", form.cleaned_data.get(f"split_{a.pk}")) for a in form.accounts],
    )
    return ctx


def joint_search(request):
    form = _search_form(request, request.GET or None)
    ctx = _search(request, form)
    if ctx.get("windows"):
        ctx["bundle_form"] = BundleForm(step_minutes=ctx["step"])
    return render(request, "frontend/search.html", ctx)


def book_bundle(request):
    """Book every searched instrument for the same span; a refusal comes back on the page, nothing
    written. After a booking the windows are searched again, so the page shows no stale window."""
    from django.core.exceptions import PermissionDenied

    from booking.services.bundles import booking_bundle_request

    if request.method != "POST":
        from django.http import HttpResponseNotAllowed

        return HttpResponseNotAllowed(["POST"])
    if not request.user.is_authenticated:
        raise PermissionDenied(_l("Sign in as a researcher to book."))
    form = _search_form(request, request.POST)
    ctx = _search(request, form)
    status = 400
    if ctx.get("instruments"):
        bundle_form = BundleForm(request.POST, step_minutes=ctx["step"])
        ctx["bundle_form"] = bundle_form
        if bundle_form.is_valid():
            s = bundle_form.cleaned_data["slot_start"]
            items = [{"instrument": i, "start": s, "end": s + ctx["duration"]} for i in ctx["instruments"]]
            try:
                bundle, bookings = booking_bundle_request(
                    requester=request.user,
                    items=items,
                    purpose=bundle_form.cleaned_data["purpose"],
                    splits=form.splits() or None,
                )
                ctx = _search(request, form)  # the windows as they are now, without the time just taken
                ctx.update(bundle=bundle, bundle_bookings=bookings, bundle_form=BundleForm(step_minutes=ctx["step"]))
                status = 200
            except REFUSALS as exc:
                attach(bundle_form, exc)
                status = 409 if exc.__class__.__name__ == "Conflict" else 400
    return render(request, "frontend/search.html", ctx, status=status)
