"""Institutions (the tenants), the people who belong to them, and the accounts that pay."""

import datetime as dt
import secrets
from decimal import Decimal

from auditlog.registry import auditlog
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.audit import attributed_to, own_fields


class Province(models.TextChoices):
    SHANGHAI = "shanghai", _("Shanghai")
    ANHUI = "anhui", _("Anhui")
    JIANGSU = "jiangsu", _("Jiangsu")
    ZHEJIANG = "zhejiang", _("Zhejiang")


class JoinPolicy(models.TextChoices):
    """How a person who asks to join (a matching e-mail domain, a federated sign-in) becomes a member."""

    CONFIRM = "confirm", _("An institution administrator confirms new members")
    AUTOMATIC = "automatic", _("New members are confirmed at once")


class Institution(models.Model):
    class Kind(models.TextChoices):
        UNIVERSITY = "university", _("University")
        INSTITUTE = "institute", _("Research institute")
        COMPANY = "company", _("Company")
        AGENCY = "agency", _("Government agency")

    code = models.SlugField(max_length=32, unique=True, help_text=_("Short code, e.g. USTC."))
    name = models.CharField(max_length=200)
    name_zh = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    province = models.CharField(max_length=16, choices=Province.choices, blank=True)
    city = models.CharField(max_length=64, blank=True)
    city_zh = models.CharField(max_length=64, blank=True)
    join_policy = models.CharField(
        max_length=16,
        choices=JoinPolicy.choices,
        default=JoinPolicy.CONFIRM,
        help_text=_("How people with the institution's e-mail domain or identity provider become members."),
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


def new_calendar_token() -> str:
    return secrets.token_urlsafe(24)


class User(AbstractUser):
    class Language(models.TextChoices):
        EN = "en", _("English")
        ZH = "zh-hans", _("Simplified Chinese")

    language = models.CharField(max_length=8, choices=Language.choices, default=Language.EN)
    calendar_token = models.CharField(max_length=64, unique=True, default=new_calendar_token)
    default_account = models.ForeignKey(
        "facilities.FundingAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Pays the whole booking when a request names no split."),
    )
    # Set when a platform administrator anonymised this departed person (facilities.services.person_anonymise).
    anonymised_at = models.DateTimeField(null=True, blank=True, editable=False)

    def rotate_calendar_token(self) -> None:
        self.calendar_token = new_calendar_token()
        self.save(update_fields=["calendar_token"])

    @property
    def primary_institution(self) -> "Institution | None":
        membership = self.memberships.select_related("institution").order_by("id").first()
        return membership.institution if membership else None

    def get_additional_data(self) -> dict:
        return attributed_to(*self.memberships.values_list("institution_id", flat=True))


class Role(models.TextChoices):
    RESEARCHER = "researcher", _("Researcher")
    FACILITY_MANAGER = "facility_manager", _("Facility manager")
    FINANCE = "finance", _("Finance")
    INSTITUTION_ADMIN = "institution_admin", _("Institution administrator")
    # Runs a facility's proposal calls (the facilities listed on the membership), assigns reviewers, awards.
    USER_OFFICE = "user_office", _("User office")
    # Grades the proposals they are assigned to; the membership is at their own institution.
    REVIEWER = "reviewer", _("Reviewer")


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=24, choices=Role.choices)
    facilities = models.ManyToManyField(
        "facilities.Facility",
        blank=True,
        related_name="manager_memberships",
        help_text=_("For facility managers: the facilities they manage."),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "institution", "role"],
                name="membership_unique_role",
                violation_error_message=_("This person already has that role at that institution."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.institution.code}"

    def get_additional_data(self) -> dict:
        return attributed_to(self.institution_id)


class FundingAccount(models.Model):
    """A grant or cost centre that researchers may charge."""

    class Kind(models.TextChoices):
        GRANT = "grant", _("Grant")
        COST_CENTRE = "cost_centre", _("Cost centre")

    code = models.CharField(max_length=48, unique=True)
    title = models.CharField(max_length=200)
    title_zh = models.CharField(max_length=200, blank=True)  # the title in Chinese, shown on Chinese pages
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.GRANT)
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="accounts")
    principal_investigator = models.ForeignKey(User, on_delete=models.PROTECT, related_name="accounts_led")
    members = models.ManyToManyField(
        User, blank=True, related_name="accounts_named_on", help_text=_("Others who may charge it.")
    )
    valid_from = models.DateField()
    valid_until = models.DateField()
    budget_cap = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text=_("CNY; empty for no cap.")
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("valid_from")),
                name="account_validity_ordered",
                violation_error_message=_("An account's validity must end on or after it starts."),
            ),
            models.CheckConstraint(
                condition=Q(budget_cap__isnull=True) | Q(budget_cap__gte=Decimal("0")),
                name="account_budget_cap_positive",
                violation_error_message=_("A budget cap cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.title}"

    def is_valid_on(self, day: dt.date) -> bool:
        return self.active and self.valid_from <= day <= self.valid_until

    def clean(self) -> None:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": _("The validity must end on or after it starts.")})

    def today_valid(self) -> bool:
        return self.is_valid_on(timezone.localdate())

    def get_additional_data(self) -> dict:
        return attributed_to(self.institution_id)


# The audit trail (docs/audit.md): who may do what, and who pays. A person's name and e-mail stay out of it.
auditlog.register(User, include_fields=["is_active", "is_staff", "is_superuser", "anonymised_at"])
auditlog.register(Membership, include_fields=own_fields(Membership), m2m_fields={"facilities"})
auditlog.register(FundingAccount, include_fields=own_fields(FundingAccount), m2m_fields={"members"})
