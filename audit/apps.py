from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit trail")

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the trail's receivers)

        # API tokens (facilities.models.tokens.ApiToken) register themselves: only a digest of the key is
        # stored, and the digest is left out of the trail.
