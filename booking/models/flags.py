"""A held booking that a change of the catalog's calendar (a closure, new operating hours, a year's
public holidays) has put in closed time. The facility's managers decide: keep it, move it, or cancel it
(at no cost to the requester). Until then it stays as it is: a calendar change never cancels silently."""

from auditlog.registry import auditlog
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from common.audit import attributed_to


class CalendarFlag(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting the facility's decision")
        KEPT = "kept", _("Kept by the facility")
        MOVED = "moved", _("Moved by the facility")
        CANCELLED = "cancelled", _("Cancelled by the facility")
        SETTLED = "settled", _("Settled otherwise (the booking no longer holds its time)")

    booking = models.ForeignKey("booking.Booking", on_delete=models.CASCADE, related_name="calendar_flags")
    cause = models.CharField(
        max_length=32, help_text=_("What changed: closure_added, hours_changed, holidays_changed…")
    )

    class ReasonCode(models.TextChoices):
        CLOSURE = "closure", _("A closure")
        HOURS = "hours", _("Outside the operating hours")
        HOLIDAY = "holiday", _("A public holiday")
        TEXT = "text", _("Free text (flags from before reasons were stored as data)")

    reason = models.CharField(
        max_length=500, help_text=_("Why the booked time is closed now, in English words, as recorded.")
    )
    reason_code = models.CharField(max_length=16, choices=ReasonCode.choices, default=ReasonCode.TEXT)
    reason_params = models.JSONField(
        default=dict, blank=True, help_text=_("The closure's own reason, or the holiday's date and festival.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True, help_text=_("The facility's word to the requester."))

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["booking"],
                condition=Q(status="open"),
                name="one_open_calendar_flag_per_booking",
                violation_error_message=_("This booking is flagged already."),
            )
        ]

    def __str__(self) -> str:
        return f"#{self.booking_id} {self.get_status_display()}: {self.reason}"

    @property
    def reason_text(self) -> str:
        """Why the booked time is closed, in the active language (the reader's): worked out from the code
        and its parameters, so a Chinese mail or page says it in Chinese."""
        from facilities.calendar import describe_cause

        if self.reason_code == self.ReasonCode.TEXT:
            return self.reason_params.get("text") or self.reason
        return describe_cause({**self.reason_params, "kind": self.reason_code})[:500]

    def get_additional_data(self) -> dict:
        """Filed under the facility's host, whose managers decide the flag, and the requester's institution."""
        booking = self.booking
        return attributed_to(booking.instrument.facility.host_id, booking.institution_id)


# Who kept, moved or cancelled a booking in closed time, and why, is part of the audit trail.
auditlog.register(CalendarFlag)
