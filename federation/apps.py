from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FederationConfig(AppConfig):
    name = "federation"
    verbose_name = _("Federated sign-in")

    def ready(self) -> None:
        from . import checks, receivers  # noqa: F401
