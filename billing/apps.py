from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        from booking.signals import booking_created, booking_transitioned, validate_splits
        from usage.signals import use_corrected

        # Importing the tasks registers them under the names the services start them by (services/background.py).
        from . import receivers, tasks  # noqa: F401

        validate_splits.connect(receivers.on_validate_splits, dispatch_uid="billing.validate_splits")
        booking_created.connect(receivers.on_booking_created, dispatch_uid="billing.booking_created")
        booking_transitioned.connect(receivers.on_booking_transitioned, dispatch_uid="billing.booking_transitioned")
        use_corrected.connect(receivers.on_use_corrected, dispatch_uid="billing.use_corrected")
