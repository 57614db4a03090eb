from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FacilitiesConfig(AppConfig):
    name = "facilities"
    verbose_name = _("Institutions and catalog")

    def ready(self) -> None:
        # Tokens are revoked when a password changes or an account is deactivated.
        # A verified e-mail address at an institution's domain asks to join it.
        from . import (
            accounts,  # noqa: F401
            credentials,  # noqa: F401
        )
