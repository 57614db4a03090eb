from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from auditlog.registry import auditlog
        from rest_framework.authtoken.models import Token, TokenProxy

        from . import receivers  # noqa: F401  (connects the trail's receivers)

        # API tokens: who holds one, since when, and when it was revoked. The key is never recorded
        # (audit.receivers rewrites the entry's object to the holder).
        # The admin deletes tokens through its proxy model, whose signals name the proxy.
        auditlog.register(Token, include_fields=["user", "created"])
        auditlog.register(TokenProxy, include_fields=["user", "created"])
