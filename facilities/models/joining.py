"""How a person comes to belong to an institution without being invited: the institution's e-mail and
home domains (matched for local sign-up and for federated sign-in), its join policy, and the person's
request to join, which an institution administrator decides unless the policy confirms it at once
(docs/identity.md, "Joining an institution")."""

from auditlog.registry import auditlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from common.audit import attributed_to, own_fields

from .tenants import Institution


def normalize_domain(value: str) -> str:
    return str(value).strip().strip(".").lower()


class InstitutionDomain(models.Model):
    """A DNS domain of an institution, e.g. "ustc.edu.cn": its people's e-mail addresses and the scope of
    what its identity provider releases. A subdomain ("mail.ustc.edu.cn") matches its parent's row."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253, unique=True, help_text=_("Lower case, e.g. ustc.edu.cn."))

    class Meta:
        ordering = ["domain"]
        constraints = [
            models.CheckConstraint(
                condition=Q(domain=Lower("domain")),
                name="institution_domain_lowercase",
                violation_error_message=_("A domain is written in lower case."),
            )
        ]

    def __str__(self) -> str:
        return self.domain

    def save(self, *args, **kwargs) -> None:
        self.domain = normalize_domain(self.domain)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        self.domain = normalize_domain(self.domain)
        if "." not in self.domain or "@" in self.domain or " " in self.domain:
            raise ValidationError({"domain": _("Give a domain such as ustc.edu.cn.")})

    def get_additional_data(self) -> dict:
        return attributed_to(self.institution_id)


class JoinRequest(models.Model):
    """A person's request to become a researcher of an institution."""

    class Via(models.TextChoices):
        FEDERATED = "federated", _("Federated sign-in")
        EMAIL_DOMAIN = "email_domain", _("Institution e-mail address")
        REQUEST = "request", _("Request")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="join_requests")
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="join_requests")
    via = models.CharField(max_length=16, choices=Via.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    affiliation = models.CharField(
        max_length=64, blank=True, help_text=_("As the person or their identity provider said, e.g. student.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "institution"],
                condition=Q(state="pending"),
                name="join_request_one_pending",
                violation_error_message=_("This person already asked to join that institution."),
            ),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "approved", "declined"]),
                name="join_request_state_known",
                violation_error_message=_("Unknown state of a join request."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.institution.code} ({self.state})"

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING

    def can_decide(self) -> bool:
        """The guard of approve and decline: only a pending request is decided, once."""
        return self.is_pending

    def get_additional_data(self) -> dict:
        return attributed_to(self.institution_id)


auditlog.register(InstitutionDomain, include_fields=own_fields(InstitutionDomain))
auditlog.register(JoinRequest, include_fields=own_fields(JoinRequest))
