"""An institution administrator's invitation of a person by e-mail, to a role at the institution.
Only a digest of the invitation's key is stored; the key travels in the mail's link."""

import hashlib
import secrets

from auditlog.registry import auditlog
from django.conf import settings
from django.db import models

from common.audit import attributed_to, own_fields

from .tenants import Institution, Role


def new_invitation_key() -> str:
    return secrets.token_urlsafe(32)


def invitation_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class Invitation(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=24, choices=Role.choices, default=Role.RESEARCHER)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.email} → {self.institution.code} ({self.role})"

    def get_additional_data(self) -> dict:
        return attributed_to(self.institution_id)


auditlog.register(Invitation, include_fields=own_fields(Invitation, exclude=("digest", "email")))
