"""The states a booking passes through, and which may follow which."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class BookingStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    COMPLETED = "completed", _("Completed")
    NO_SHOW = "no_show", _("No-show")


class BookingKind(models.TextChoices):
    """Where a booking's time came from: an hourly request, or beamtime awarded to a proposal and placed
    by the facility (the proposals app keeps the link; the calendar and the no-overlap rule are one)."""

    HOURLY = "hourly", _("Hourly booking")
    BEAMTIME = "beamtime", _("Beamtime session")


# Which state may follow which; the guards on Booking read this, and nothing else decides it.
TRANSITIONS: dict[str, set[str]] = {
    BookingStatus.REQUESTED: {BookingStatus.APPROVED, BookingStatus.REJECTED, BookingStatus.CANCELLED},
    BookingStatus.APPROVED: {BookingStatus.CANCELLED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW},
    BookingStatus.REJECTED: set(),
    BookingStatus.CANCELLED: set(),
    BookingStatus.COMPLETED: set(),
    BookingStatus.NO_SHOW: set(),
}
