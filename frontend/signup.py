"""The extra fields of the sign-up form (django-allauth's ACCOUNT_SIGNUP_FORM_CLASS): a person signs up
for themselves, or registers their company for a platform administrator to approve."""

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _l

from facilities.companies import company_register, normalize_credit_code, validate_credit_code
from facilities.models import CompanyRegistration
from facilities.models.tenants import Province

PERSON, COMPANY = "person", "company"


class SignupExtraForm(forms.Form):
    kind = forms.ChoiceField(
        label=_l("I register"),
        choices=[(PERSON, _l("for myself (researcher, student, visitor)")), (COMPANY, _l("for my company"))],
        initial=PERSON,
        widget=forms.RadioSelect,
        help_text=_l(
            "With an e-mail address of a member institution you are matched to it once the address is verified."
        ),
    )
    company_name = forms.CharField(
        label=_l("Company name"), max_length=200, required=False, help_text=_l("For companies: the registered name.")
    )
    credit_code = forms.CharField(
        label=_l("Unified social credit code"),
        max_length=32,
        required=False,
        help_text=_l("For companies: the 18 characters of the 统一社会信用代码."),
    )
    province = forms.ChoiceField(label=_l("Province"), choices=[("", "—"), *Province.choices], required=False)

    def clean(self):
        data = super().clean() or {}
        if data.get("kind") != COMPANY:
            return data
        if not (data.get("company_name") or "").strip():
            self.add_error("company_name", _l("Give the company's registered name."))
        try:
            code = validate_credit_code(data.get("credit_code") or "")
        except ValidationError as exc:
            self.add_error("credit_code", exc)
        else:
            data["credit_code"] = code
            if CompanyRegistration.objects.filter(credit_code=normalize_credit_code(code)).exists():
                self.add_error(
                    "credit_code", _l("A company with this unified social credit code is already registered.")
                )
        return data

    def signup(self, request, user) -> None:
        data = self.cleaned_data
        if data.get("kind") == COMPANY:
            company_register(
                user=user,
                company_name=data["company_name"],
                credit_code=data["credit_code"],
                province=data.get("province") or "",
            )


class AccountAdapter(DefaultAccountAdapter):
    """Links in allauth's mails start at SITE_URL, never at the Host header a stranger sent (as the
    password-reset mail's do)."""

    def get_email_confirmation_url(self, request, emailconfirmation) -> str:
        path = reverse("account_confirm_email", args=[emailconfirmation.key])
        return settings.SITE_URL.rstrip("/") + path
