"""Research groups: a principal investigator's people (from any institution), the accounts the group
uses, and the group's limits on instrument time, checked with the per-person limits (docs/identity.md)."""

from auditlog.registry import auditlog
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from common.audit import attributed_to, own_fields

from .catalog import Instrument
from .tenants import FundingAccount, Institution


class ResearchGroup(models.Model):
    name = models.CharField(max_length=200)
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="research_groups")
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="groups_led",
        help_text=_("The principal investigator: sees the group's bookings."),
    )
    accounts = models.ManyToManyField(FundingAccount, blank=True, related_name="research_groups")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["institution__code", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "name"],
                name="research_group_unique_name",
                violation_error_message=_("This institution already has a research group of that name."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.institution.code})"

    def get_additional_data(self) -> dict:
        return attributed_to(self.institution_id)


class GroupMember(models.Model):
    class Kind(models.TextChoices):
        STUDENT = "student", _("Student")
        POSTDOC = "postdoc", _("Postdoctoral researcher")
        STAFF = "staff", _("Staff")

    group = models.ForeignKey(ResearchGroup, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="group_memberships")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STUDENT)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["group_id", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "user"],
                name="group_member_unique",
                violation_error_message=_("This person is already a member of that group."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.group}"

    def get_additional_data(self) -> dict:
        return attributed_to(self.group.institution_id)


class GroupHourLimit(models.Model):
    """At most `max_hours` of held bookings on one instrument per calendar month or quarter (Asia/Shanghai),
    for the leader and the members together. A booking counts in the period in which it starts."""

    class Period(models.TextChoices):
        MONTH = "month", _("month")
        QUARTER = "quarter", _("quarter")

    group = models.ForeignKey(ResearchGroup, on_delete=models.CASCADE, related_name="hour_limits")
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="group_hour_limits")
    period = models.CharField(max_length=8, choices=Period.choices, default=Period.MONTH)
    max_hours = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "instrument", "period"],
                name="group_hour_limit_unique",
                violation_error_message=_("This group already has a limit for that instrument and period."),
            ),
            models.CheckConstraint(
                condition=Q(period__in=["month", "quarter"]),
                name="group_hour_limit_period_known",
                violation_error_message=_("A group limit's period is a month or a quarter."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.group}: {self.max_hours} h of {self.instrument.code} per {self.get_period_display()}"

    def get_additional_data(self) -> dict:
        return attributed_to(self.group.institution_id, self.instrument.facility.host_id)


class GroupSpendingLimit(models.Model):
    """At most `max_amount` CNY a calendar month (Asia/Shanghai) charged to one of the group's accounts by
    the group's people: what was charged in that month plus the estimate of held bookings starting in it."""

    group = models.ForeignKey(ResearchGroup, on_delete=models.CASCADE, related_name="spending_limits")
    account = models.ForeignKey(FundingAccount, on_delete=models.CASCADE, related_name="group_spending_limits")
    max_amount = models.DecimalField(max_digits=14, decimal_places=2, help_text=_("CNY per month."))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "account"],
                name="group_spending_limit_unique",
                violation_error_message=_("This group already has a spending limit on that account."),
            ),
            models.CheckConstraint(
                condition=Q(max_amount__gte=0),
                name="group_spending_limit_not_negative",
                violation_error_message=_("A spending limit cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.group}: {self.max_amount} CNY a month on {self.account.code}"

    def get_additional_data(self) -> dict:
        return attributed_to(self.group.institution_id, self.account.institution_id)


# Who belongs to a group and what it may use alter who may do what: audited (docs/audit.md).
auditlog.register(ResearchGroup, include_fields=own_fields(ResearchGroup), m2m_fields={"accounts"})
auditlog.register(GroupMember, include_fields=own_fields(GroupMember))
auditlog.register(GroupHourLimit, include_fields=own_fields(GroupHourLimit))
auditlog.register(GroupSpendingLimit, include_fields=own_fields(GroupSpendingLimit))
