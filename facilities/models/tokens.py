"""API tokens: a named, expiring secret a person gives a script. Only a digest of the key is stored; the
key is shown once, when it is made. Revoked tokens are kept (who revoked, when, why) for the record."""

import hashlib
import secrets

from auditlog.registry import auditlog
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.audit import attributed_to

from .tenants import Membership

# 20 random bytes as 40 hex digits, the shape DRF's tokens had.
KEY_BYTES = 20
PREFIX_LENGTH = 8


def new_key() -> str:
    return secrets.token_hex(KEY_BYTES)


def digest_of(key: str) -> str:
    """SHA-256 of the key. A key is 160 random bits, so no salt or slow hash is needed: nobody can guess
    one from its digest, and the digest can be looked up directly."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class ApiToken(models.Model):
    class RevokedBecause(models.TextChoices):
        OWNER = "owner", _("Revoked by its owner")
        ADMIN = "admin", _("Revoked by a platform administrator")
        ROTATED = "rotated", _("Replaced by a new key")
        PASSWORD_CHANGED = "password_changed", _("The password changed")
        DEACTIVATED = "deactivated", _("The account was deactivated")
        REPLACED = "replaced", _("Too many tokens: the oldest sign-in token was replaced")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("key starts with"), max_length=PREFIX_LENGTH, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    from_sign_in = models.BooleanField(
        default=False, editable=False, help_text=_("Made by POST /api/v1/auth/token/ rather than by name.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    revoked_because = models.CharField(
        _("revoked because"), max_length=20, choices=RevokedBecause.choices, blank=True, editable=False
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [models.Index(fields=["user", "revoked_at"], name="apitoken_user_live")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="apitoken_expires_after_creation",
                violation_error_message=_("A token must expire after it is made."),
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True, revoked_because="")
                | Q(revoked_at__isnull=False) & ~Q(revoked_because=""),
                name="apitoken_revocation_has_a_reason",
                violation_error_message=_("A revoked token says why it was revoked."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def get_additional_data(self) -> dict:
        """The audit trail files a token's creation and revocation under its holder's institutions."""
        return attributed_to(*Membership.objects.filter(user_id=self.user_id).values_list("institution_id", flat=True))

    def is_expired(self, now=None) -> bool:
        return self.expires_at <= (now or timezone.now())

    def is_active(self, now=None) -> bool:
        return self.revoked_at is None and not self.is_expired(now)

    def can_be_revoked(self) -> bool:
        """The guard of revoking (and of rotating): only once."""
        return self.revoked_at is None


# Creation and revocation are audited; the digest is no one's business, and last use is not a change.
auditlog.register(ApiToken, exclude_fields=["digest", "last_used_at"])
