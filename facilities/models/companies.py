"""A company's request to book as a company: the person who registered it, the company's name and its
unified social credit code (统一社会信用代码, GB 32100-2015). A platform administrator approves it; only
then does the company exist as an institution whose researcher the person is (docs/identity.md)."""

from auditlog.registry import auditlog
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from common.audit import attributed_to, own_fields

from .tenants import Institution, Province


class CompanyRegistration(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="company_registration")
    company_name = models.CharField(_("company name"), max_length=200)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        error_messages={"unique": _("A company with this unified social credit code is already registered.")},
    )
    province = models.CharField(_("province"), max_length=16, choices=Province.choices, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decline_reason = models.CharField(max_length=500, blank=True)
    # The company as an institution, made when a platform administrator approves the registration.
    institution = models.OneToOneField(
        Institution, null=True, blank=True, on_delete=models.PROTECT, related_name="company_registration"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["pending", "approved", "declined"]),
                name="company_registration_state_known",
                violation_error_message=_("Unknown state of a company registration."),
            ),
            models.CheckConstraint(
                condition=~Q(state="approved") | Q(institution__isnull=False),
                name="company_registration_approved_has_institution",
                violation_error_message=_("An approved company is an institution."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company_name} ({self.credit_code}, {self.state})"

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING

    def can_decide(self) -> bool:
        """The guard of approve and decline: a registration is decided once."""
        return self.is_pending

    def get_additional_data(self) -> dict:
        # Filed under the company once it is an institution; before, only platform administrators read it.
        return attributed_to(self.institution_id)


auditlog.register(CompanyRegistration, include_fields=own_fields(CompanyRegistration))
