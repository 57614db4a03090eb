from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = _("Bookings")

    def ready(self) -> None:
        from facilities.signals import bookable_asked

        from . import (
            anonymise,  # noqa: F401  scrubs purposes when a person is anonymised
            calendar_receivers,  # noqa: F401  flags held bookings when a calendar changes
        )
        from .live import receivers as live_receivers  # noqa: F401  publishes changes to /ws/ clients
        from .notifications import receivers  # noqa: F401  registers the mail receivers
        from .rules import on_bookable_asked
        from .services import flags, waitlist  # noqa: F401  flags bookings in closed time; offers freed slots

        bookable_asked.connect(on_bookable_asked, dispatch_uid="booking.bookable_asked")
