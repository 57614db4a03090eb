"""Forms of the pages. They check shape only; the services decide every rule and say why."""

from decimal import Decimal
from typing import cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from common.parsing import MAX_YEAR, MIN_YEAR
from facilities.models import Closure

from .templatetags.sanjiao import zh_or_en

LOCAL_INPUT = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, step_minutes: int = 60, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", attrs={"step": step_minutes * 60}, **kwargs)


def within_years(value) -> None:
    if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValidationError(
            _("The time must fall between the years %(first)s and %(last)s."),
            params={"first": MIN_YEAR, "last": MAX_YEAR},
        )


def local_datetime_field(label, step_minutes=60, required=True):
    # Naive input is read in the current time zone (Asia/Shanghai) by Django itself.
    return forms.DateTimeField(
        label=label,
        required=required,
        input_formats=LOCAL_INPUT,
        widget=LocalDateTimeInput(step_minutes=step_minutes),
        validators=[within_years],
    )


class BookingForm(forms.Form):
    purpose = forms.CharField(
        label=_("Purpose"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    repeat = forms.IntegerField(
        label=_("Occurrences"),
        min_value=1,
        max_value=52,
        initial=1,
        required=False,
        help_text=_("More than one books the same time every week (or every few weeks)."),
    )
    interval_weeks = forms.IntegerField(
        label=_("Every how many weeks"), min_value=1, max_value=12, initial=1, required=False
    )
    skip_taken = forms.BooleanField(label=_("Skip the weeks that are taken and book the rest"), required=False)

    def __init__(self, *args, instrument, accounts, default_account_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        step = instrument.booking_unit_minutes
        self.fields["start"] = local_datetime_field(_("Start"), step)
        self.fields["end"] = local_datetime_field(_("End"), step)
        self.order_fields(["start", "end", "purpose", "repeat", "interval_weeks", "skip_taken"])
        self.accounts = list(accounts)
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
        return [self[name] for name in ("start", "end", "purpose")]

    def repeat_fields(self):
        return [self[name] for name in ("repeat", "interval_weeks", "skip_taken")]

    def split_fields(self):
        return [self[f"split_{a.pk}"] for a in self.accounts]

    def splits(self) -> list[dict]:
        out = []
        for account in self.accounts:
            value = self.cleaned_data.get(f"split_{account.pk}")
            if value:
                out.append({"account": account.pk, "percent": str(value)})
        return out

    def percents(self) -> list[Decimal]:
        return [Decimal(s["percent"]) for s in self.splits()]

    def clean(self):
        data = super().clean()
        if self.accounts and not self.splits():
            raise forms.ValidationError(_("Give at least one account a share of the cost (the shares add up to 100)."))
        return data


class DecisionForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000)


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        error_messages={"required": _("Say why the request is rejected; the researcher will read it.")},
    )


class CompleteForm(forms.Form):
    actual_start = local_datetime_field(_("Actual start"), required=False)
    actual_end = local_datetime_field(_("Actual end"), required=False)


class FlagMoveForm(forms.Form):
    start = local_datetime_field(_("New start"))
    end = local_datetime_field(_("New end"))
    reason = forms.CharField(label=_("Note (optional)"), required=False, max_length=2000)


class ClosureForm(forms.Form):
    instrument = forms.ChoiceField(label=_("Instrument"), required=False)
    start = local_datetime_field(_("From"))
    end = local_datetime_field(_("Until"))
    kind = forms.ChoiceField(label=_("Kind"), choices=Closure.Kind.choices)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=200)

    def __init__(self, *args, instruments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.instruments = {str(i.pk): i for i in instruments}
        field = cast(forms.ChoiceField, self.fields["instrument"])  # declared as one above
        field.choices = [("", _("Whole facility"))] + [(str(i.pk), f"{i.code} — {zh_or_en(i)}") for i in instruments]

    def clean_instrument(self):
        value = self.cleaned_data.get("instrument")
        return self.instruments.get(value) if value else None


class QualificationForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    instrument = forms.ChoiceField(label=_("Instrument"))
    until = forms.DateField(
        label=_("Qualified until (optional, last day included)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, instruments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.instruments = {str(i.pk): i for i in instruments}
        field = cast(forms.ChoiceField, self.fields["instrument"])  # declared as one above
        field.choices = [(str(i.pk), f"{i.code} — {zh_or_en(i)}") for i in instruments]

    def clean_instrument(self):
        return self.instruments[self.cleaned_data["instrument"]]


class QualificationAskForm(forms.Form):
    note = forms.CharField(
        label=_("Your training or experience with it (for the manager)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class QualificationGrantForm(forms.Form):
    expires_on = forms.DateField(
        label=_("Last day (empty: until revoked)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class QualificationDeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (the person is told)"),
        max_length=1000,
        error_messages={"required": _("Say why the request is declined; the person is told.")},
    )


class MoveForm(forms.Form):
    """Move a booking from the resource calendar: a new start; it keeps its length."""

    start = local_datetime_field(_("New start"), step_minutes=30)


class InstrumentRulesForm(forms.ModelForm):
    """The booking rules of an instrument; saved through facilities.services.instrument_rules_update."""

    class Meta:
        from facilities.models import Instrument
        from facilities.services import RULE_FIELDS

        model = Instrument
        fields = list(RULE_FIELDS)
        labels = {
            "booking_unit_minutes": _("Booking unit (minutes)"),
            "min_minutes": _("Shortest booking (minutes)"),
            "max_minutes": _("Longest booking (minutes)"),
            "lead_time_minutes": _("Lead time (minutes)"),
            "horizon_days": _("Horizon (days ahead)"),
            "buffer_minutes": _("Changeover after each booking (minutes)"),
            "requires_approval": _("Requests need a manager's approval"),
            "requires_qualification": _("Only qualified users may book"),
            "auto_approve_qualified": _("Approve qualified users at once"),
            "auto_approve_host": _("Approve the host institution's members at once"),
            "max_future_bookings": _("Upcoming bookings per user (empty: no limit)"),
        }
        help_texts = {name: "" for name in RULE_FIELDS}


class AppealForm(forms.Form):
    text = forms.CharField(
        label=_("Why should the suspension be lifted?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Say why the suspension should be lifted.")},
    )


class AppealDecisionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        error_messages={"required": _("Give the reason for the decision; the user is told.")},
    )


class ViolationPolicyForm(forms.Form):
    active = forms.BooleanField(label=_("Suspend booking when the limit is reached"), required=False)
    max_violations = forms.IntegerField(label=_("Violations"), min_value=1, max_value=100)
    window_days = forms.IntegerField(label=_("Within days"), min_value=1, max_value=3650)
    suspension_days = forms.IntegerField(label=_("Suspension (days)"), min_value=1, max_value=3650)
    short_use_percent = forms.IntegerField(
        label=_("Short use below percent of booked time (0: never)"), min_value=0, max_value=100
    )


# --- What a facility's managers set besides booking rules (frontend/views/settings.py) ---------------------


class HoursForm(forms.Form):
    instrument = forms.ChoiceField(label=_("For"), required=False)
    weekday = forms.TypedChoiceField(label=_("Day"), coerce=int)
    opens = forms.TimeField(label=_("Opens"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    closes = forms.TimeField(label=_("Closes"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))

    def __init__(self, *args, instruments=(), **kwargs):
        from facilities.models.calendars import Weekday

        super().__init__(*args, **kwargs)
        self.instruments = {str(i.pk): i for i in instruments}
        field = cast(forms.ChoiceField, self.fields["instrument"])
        field.choices = [("", _("Whole facility"))] + [(str(i.pk), f"{i.code} — {zh_or_en(i)}") for i in instruments]
        cast(forms.ChoiceField, self.fields["weekday"]).choices = Weekday.choices

    def clean_instrument(self):
        value = self.cleaned_data.get("instrument")
        return self.instruments.get(value) if value else None


class RateForm(forms.Form):
    user_class = forms.ChoiceField(label=_("User class"))
    hourly_rate = forms.DecimalField(
        label=_("Hourly rate (CNY)"), min_value=Decimal("0"), max_digits=12, decimal_places=2
    )

    def __init__(self, *args, **kwargs):
        from facilities.models.catalog import UserClass

        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["user_class"]).choices = UserClass.choices


class TimeShareForm(forms.Form):
    institution = forms.ChoiceField(label=_("Partner institution"))
    percent = forms.DecimalField(
        label=_("Share of each quarter's hours (percent)"),
        min_value=Decimal("0.01"),
        max_value=Decimal("100"),
        max_digits=5,
        decimal_places=2,
    )

    def __init__(self, *args, institutions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.institutions = {str(i.pk): i for i in institutions}
        cast(forms.ChoiceField, self.fields["institution"]).choices = [
            (str(i.pk), f"{i.code} — {zh_or_en(i)}") for i in institutions
        ]

    def clean_institution(self):
        return self.institutions[self.cleaned_data["institution"]]


class ChargePolicyForm(forms.ModelForm):
    """How an instrument charges; saved through billing.services.policies.charge_policy_update."""

    class Meta:
        from billing.models import ChargePolicy
        from billing.services.policies import POLICY_FIELDS

        model = ChargePolicy
        fields = list(POLICY_FIELDS)
        labels = {
            "billing_model": _("Charged for"),
            "minimum_charge": _("Minimum charge (CNY)"),
            "minimum_minutes": _("Minimum minutes charged (with a minimum)"),
            "no_show_percent": _("No-show fee (percent of the booked-time fee)"),
            "late_cancel_hours": _("Late cancellation: less than this many hours before the start"),
            "late_cancel_percent": _("Late-cancellation fee (percent of the booked-time fee)"),
        }
        help_texts = {name: "" for name in POLICY_FIELDS}


class OnBehalfForm(forms.Form):
    """A facility manager books for a user from the resource calendar: who, which of the facility's
    instruments, when, and which of the user's accounts pays (empty: the user's default account)."""

    username = forms.CharField(label=_("User (username)"), max_length=150)
    instrument = forms.ChoiceField(label=_("Instrument"))
    start = local_datetime_field(_("Start"), step_minutes=30)
    end = local_datetime_field(_("End"), step_minutes=30)
    account = forms.IntegerField(label=_("Funding account"), required=False, min_value=1, max_value=2**53)
    purpose = forms.CharField(label=_("Purpose"), required=False, max_length=2000)

    def __init__(self, *args, instruments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.instruments = {str(i.pk): i for i in instruments}
        field = cast(forms.ChoiceField, self.fields["instrument"])  # declared as one above
        field.choices = [(str(i.pk), f"{i.code} — {zh_or_en(i)}") for i in instruments]

    def clean_instrument(self):
        return self.instruments[self.cleaned_data["instrument"]]

    def clean(self):
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", _("The end must be after the start."))
        return data


class BookingTimeForm(forms.Form):
    """Move a booking, or shorten or extend it: a new start and end on its instrument's unit."""

    def __init__(self, *args, instrument, **kwargs):
        super().__init__(*args, **kwargs)
        step = instrument.booking_unit_minutes
        self.fields["start"] = local_datetime_field(_("Start"), step)
        self.fields["end"] = local_datetime_field(_("End"), step)

    def clean(self):
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end <= start:
            self.add_error("end", _("The end must be after the start."))
        return data


class PayersForm(forms.Form):
    """Who pays a booking: a percent for each account the requester may charge (empty or 0: not paying)."""

    def __init__(self, *args, accounts, current: dict[int, Decimal] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.accounts = list(accounts)
        current = current or {}
        for account in self.accounts:
            percent = current.get(account.pk)
            self.fields[f"split_{account.pk}"] = forms.DecimalField(
                label=f"{account.code} — {zh_or_en(account, 'title')}",
                required=False,
                min_value=Decimal("0"),
                max_value=Decimal("100"),
                decimal_places=2,
                initial=f"{percent.normalize():f}" if percent is not None else None,
                widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
            )

    def splits(self) -> list[dict]:
        return [
            {"account": a.pk, "percent": str(self.cleaned_data[f"split_{a.pk}"])}
            for a in self.accounts
            if self.cleaned_data.get(f"split_{a.pk}")
        ]

    def clean(self):
        data = super().clean()
        if not self.errors and not self.splits():
            raise forms.ValidationError(_("Give at least one account a share of the cost (the shares add up to 100)."))
        return data
