from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = _("Actual use")

    def ready(self) -> None:
        # Importing the tasks registers them under the names beat starts them by (config/settings.py).
        from booking.signals import booking_transitioned, requester_barred, validate_requester

        from . import tasks  # noqa: F401
        from .services import violations

        validate_requester.connect(violations.on_validate_requester, dispatch_uid="usage.validate_requester")
        requester_barred.connect(violations.on_requester_barred, dispatch_uid="usage.requester_barred")
        booking_transitioned.connect(violations.on_booking_transitioned, dispatch_uid="usage.booking_transitioned")
