"""Bookings, their cost splits and their audit trail."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from ..holds import HELD_STATUSES, BookingQuerySet, no_overlap_constraint
from ..states import TRANSITIONS, BookingKind, BookingStatus


class BookingSeries(models.Model):
    """A weekly recurring booking: one Booking per occurrence, each cancellable or movable alone."""

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="booking_series")
    instrument = models.ForeignKey("facilities.Instrument", on_delete=models.PROTECT, related_name="booking_series")
    interval_weeks = models.PositiveSmallIntegerField(default=1)
    count = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "booking series"

    def __str__(self) -> str:
        return f"series #{self.pk}: {self.count} × every {self.interval_weeks} week(s)"


class BookingBundle(models.Model):
    """Several slots on different instruments requested together, all or nothing."""

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="booking_bundles")
    purpose = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"bundle #{self.pk}"


class Booking(models.Model):
    Status = BookingStatus
    Kind = BookingKind

    instrument = models.ForeignKey("facilities.Instrument", on_delete=models.PROTECT, related_name="bookings")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings")
    institution = models.ForeignKey(
        "facilities.Institution",
        on_delete=models.PROTECT,
        related_name="bookings",
        help_text=_("The requester's institution when the booking was made."),
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    # end plus the instrument's changeover buffer, fixed when the booking is made (holds.held_span).
    hold_end = models.DateTimeField(editable=False)
    status = models.CharField(max_length=16, choices=BookingStatus.choices, default=BookingStatus.REQUESTED)
    purpose = models.TextField(blank=True, max_length=2000)
    kind = models.CharField(max_length=16, choices=BookingKind.choices, default=BookingKind.HOURLY)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_reason = models.TextField(blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    actual_start = models.DateTimeField(null=True, blank=True)
    actual_end = models.DateTimeField(null=True, blank=True)
    series = models.ForeignKey(BookingSeries, null=True, blank=True, on_delete=models.SET_NULL, related_name="bookings")
    bundle = models.ForeignKey(BookingBundle, null=True, blank=True, on_delete=models.SET_NULL, related_name="bookings")
    # Raised on every change a calendar client should see again (iCalendar SEQUENCE).
    sequence = models.PositiveIntegerField(default=0)

    objects = BookingQuerySet.as_manager()

    class Meta:
        ordering = ["start", "id"]
        indexes = [
            models.Index(fields=["instrument", "start"], name="booking_instrument_start"),
            # Overlap checks read only held bookings, which are few next to an instrument's history.
            models.Index(
                fields=["instrument", "start"],
                name="booking_held_instrument_start",
                condition=Q(status__in=HELD_STATUSES),
            ),
            models.Index(fields=["requester", "start"], name="booking_requester_start"),
            models.Index(fields=["status", "end"], name="booking_status_end"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="booking_end_after_start",
                violation_error_message=_("A booking must end after it starts."),
            ),
            models.CheckConstraint(
                condition=Q(hold_end__gte=F("end")),
                name="booking_hold_covers_booking",
                violation_error_message=_("The held span must cover the booking."),
            ),
            models.CheckConstraint(
                condition=Q(actual_start__isnull=True)
                | Q(actual_end__isnull=True)
                | Q(actual_end__gt=F("actual_start")),
                name="booking_actual_end_after_start",
                violation_error_message=_("Actual use must end after it starts."),
            ),
            no_overlap_constraint(),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.instrument_id} {self.start:%Y-%m-%d %H:%M}–{self.end:%H:%M} {self.status}"

    @property
    def holds_slot(self) -> bool:
        return self.status in HELD_STATUSES

    def can_transition(self, to: str) -> bool:
        return to in TRANSITIONS.get(self.status, set())

    def can_approve(self) -> bool:
        return self.can_transition(BookingStatus.APPROVED)

    def can_reject(self) -> bool:
        return self.can_transition(BookingStatus.REJECTED)

    def can_cancel(self) -> bool:
        return self.can_transition(BookingStatus.CANCELLED)

    def can_complete(self) -> bool:
        return self.can_transition(BookingStatus.COMPLETED)

    def can_mark_no_show(self) -> bool:
        return self.can_transition(BookingStatus.NO_SHOW)

    @property
    def duration_minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


class BookingSplit(models.Model):
    """Which funding account pays which percent of a booking. A booking's splits total exactly 100."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="splits")
    account = models.ForeignKey("facilities.FundingAccount", on_delete=models.PROTECT, related_name="booking_splits")
    percent = models.DecimalField(max_digits=5, decimal_places=2)

    class Meta:
        ordering = ["booking", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["booking", "account"],
                name="split_account_once",
                violation_error_message=_("An account appears only once in a booking's splits."),
            ),
            models.CheckConstraint(
                condition=Q(percent__gt=Decimal("0")) & Q(percent__lte=Decimal("100")),
                name="split_percent_range",
                violation_error_message=_("A split is a percent above 0 and at most 100."),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.booking_id}: account {self.account_id} pays {self.percent}%"


class BookingEvent(models.Model):
    """The audit log: every transition, with who, when, from which state to which, and why."""

    # In the creation event's data of an imported booking: the last sequence the import wrote.
    IMPORTED_THROUGH = "imported_through_sequence"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"#{self.booking_id}: {self.from_status or '∅'} → {self.to_status}"


class IdempotencyRecord(models.Model):
    """The first answer to a request carrying an Idempotency-Key, replayed for any repeat."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code})"
