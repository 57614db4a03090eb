"""What federated sign-in keeps besides django-allauth's tables: the assertions already used."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SeenAssertion(models.Model):
    """A SAML assertion that signed someone in. Its ID is refused a second time until it expires (replay);
    rows past `not_on_or_after` are deleted by the metadata refresh task."""

    assertion_id = models.CharField(max_length=256, unique=True)
    issuer = models.CharField(max_length=512)
    not_on_or_after = models.DateTimeField(db_index=True)
    seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("used SAML assertion")

    def __str__(self) -> str:
        return self.assertion_id
