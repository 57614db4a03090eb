"""What people want to be told, and what they have been told.

NotificationLog is the idempotence record of outgoing mail: one row per (kind, object, sequence,
recipient), claimed before sending and marked sent after, so a retried or duplicated task never mails
twice. A claim left pending by a process that died mid-send becomes claimable again after a while.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class NotificationPreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    manager_digest = models.BooleanField(
        default=False,
        help_text=_("Facility managers: one daily mail listing new requests instead of one mail per request."),
    )

    def __str__(self) -> str:
        return f"{self.user} · digest={'on' if self.manager_digest else 'off'}"


class NotificationKind(models.TextChoices):
    REQUEST_RECEIVED = "request_received", _("Request received")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    MOVED = "moved", _("Moved")
    REMINDER = "reminder", _("Reminder")
    NEW_REQUEST = "new_request", _("New request (to managers)")
    RELEASED = "released", _("Cancelled by the requester (to managers)")
    WAITLIST_OFFER = "waitlist_offer", _("Waitlist offer")
    FLAGGED = "flagged", _("Booking in closed time")
    FLAGGED_MANAGER = "flagged_manager", _("Booking in closed time (to managers)")
    FLAG_KEPT = "flag_kept", _("Kept by the facility despite closed time")


class NotificationLog(models.Model):
    Kind = NotificationKind

    class Status(models.TextChoices):
        PENDING = "pending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    key = models.CharField(max_length=200, help_text=_("kind:object:sequence:recipient"))
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    booking = models.ForeignKey(
        "booking.Booking", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    waitlist_entry = models.ForeignKey(
        "booking.WaitlistEntry", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    sequence = models.PositiveIntegerField(default=0)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    via_digest = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["claimed_at", "id"]
        indexes = [
            models.Index(fields=["booking", "kind", "recipient"], name="notification_booking_kind"),
            models.Index(fields=["status", "claimed_at"], name="notification_status_claimed"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                name="notification_once",
                violation_error_message=_("This notification has already been sent to this person."),
            ),
            models.CheckConstraint(
                condition=Q(status="sent", sent_at__isnull=False) | ~Q(status="sent"),
                name="notification_sent_has_time",
                violation_error_message=_("A sent notification records when it was sent."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"

    @staticmethod
    def make_key(kind: str, obj: str, sequence: int, recipient_id: int) -> str:
        return f"{kind}:{obj}:{sequence}:{recipient_id}"
