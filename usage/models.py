"""Actual use of an instrument, separate from the booking that reserved it: sessions, how each was
recorded, the per-instrument usage settings and agent key, and the agent's events (each applied once)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    QR = "qr", _("QR check-in")
    AGENT = "agent", _("Instrument PC or interlock")
    MANUAL = "manual", _("Recorded by a manager")


class EndedBy(models.TextChoices):
    STOP = "stop", _("Stopped")
    HEARTBEAT = "heartbeat", _("Heartbeats stopped")
    MANAGER = "manager", _("Recorded by a manager")
    NEXT_USER = "next_user", _("Closed when the next booked user checked in")


class UsageSettings(models.Model):
    """How one instrument's use is recorded. An instrument without a row uses the defaults below."""

    instrument = models.OneToOneField("facilities.Instrument", on_delete=models.CASCADE, related_name="usage_settings")
    checkin_early_minutes = models.PositiveIntegerField(
        default=15, help_text=_("Check-in for a booking is allowed from this many minutes before its start.")
    )
    no_show_after_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Empty: never. Otherwise a booking nobody checked in to this long after its start is a no-show."),
    )
    heartbeat_timeout_minutes = models.PositiveIntegerField(
        default=10, help_text=_("An agent session with no heartbeat for this long is closed at its last heartbeat.")
    )
    # The agent's HMAC key, encrypted with a key derived from SECRET_KEY (usage.keys); shown once.
    agent_key_encrypted = models.TextField(blank=True, editable=False)
    agent_key_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "usage settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(heartbeat_timeout_minutes__gte=1),
                name="usage_heartbeat_timeout_positive",
                violation_error_message=_("The heartbeat timeout is at least one minute."),
            ),
        ]

    def __str__(self) -> str:
        return f"Usage settings of instrument {self.instrument_id}"

    @classmethod
    def for_instrument(cls, instrument_id: int) -> "UsageSettings":
        return cls.objects.filter(instrument_id=instrument_id).first() or cls(instrument_id=instrument_id)


class UsageSession(models.Model):
    """One stretch of real use. A booking may have several (breaks); walk-up use has none."""

    Source = Source
    EndedBy = EndedBy

    instrument = models.ForeignKey("facilities.Instrument", on_delete=models.PROTECT, related_name="usage_sessions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="usage_sessions",
        help_text=_("Empty when an interlock reported use without naming anyone."),
    )
    booking = models.ForeignKey(
        "booking.Booking", null=True, blank=True, on_delete=models.PROTECT, related_name="usage_sessions"
    )
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True, help_text=_("Empty while in use."))
    last_seen = models.DateTimeField(help_text=_("The last sign of use: the start, a heartbeat or the end."))
    source = models.CharField(max_length=8, choices=Source.choices)
    ended_by = models.CharField(max_length=12, choices=EndedBy.choices, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A manager's correction: the session is then no longer rebuilt from the agent's events.
    corrected_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, max_length=2000)
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    validated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start", "id"]
        indexes = [
            models.Index(fields=["instrument", "start"], name="usage_instrument_start"),
            models.Index(fields=["booking"], name="usage_booking"),
            models.Index(fields=["user", "start"], name="usage_user_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=F("start")),
                name="usage_end_after_start",
                violation_error_message=_("Use cannot end before it starts."),
            ),
            models.CheckConstraint(
                condition=Q(last_seen__gte=F("start")),
                name="usage_seen_after_start",
                violation_error_message=_("Use cannot be seen before it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"use #{self.pk} of {self.instrument_id} from {self.start:%Y-%m-%d %H:%M} ({self.source})"

    @property
    def is_open(self) -> bool:
        return self.end is None


class AgentEvent(models.Model):
    """An event an instrument's agent sent, kept so that a repeat of its id is recognised and the
    instrument's sessions can be rebuilt whatever order the events arrive in."""

    class Kind(models.TextChoices):
        START = "start", _("Start")
        HEARTBEAT = "heartbeat", _("Heartbeat")
        STOP = "stop", _("Stop")

    instrument = models.ForeignKey("facilities.Instrument", on_delete=models.CASCADE, related_name="agent_events")
    event_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    at = models.DateTimeField()
    username = models.CharField(max_length=150, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["instrument", "at"], name="agent_event_instrument_at")]
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "event_id"],
                name="agent_event_once",
                violation_error_message=_("An event id is used once per instrument."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id} on {self.instrument_id} at {self.at:%Y-%m-%d %H:%M:%S}"


class AgentNonce(models.Model):
    """A signed agent request's nonce, kept for as long as its timestamp is accepted, so a replayed
    request is refused even within the time window."""

    instrument = models.ForeignKey("facilities.Instrument", on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "nonce"],
                name="agent_nonce_once",
                violation_error_message=_("A nonce is used once."),
            ),
        ]

    def __str__(self) -> str:
        return f"nonce {self.nonce} of {self.instrument_id}"


from auditlog.registry import auditlog  # noqa: E402

auditlog.register(UsageSettings, exclude_fields=["agent_key_encrypted"])
auditlog.register(UsageSession)


class ViolationKind(models.TextChoices):
    NO_SHOW = "no_show", _("No-show")
    LATE_CANCELLATION = "late_cancellation", _("Late cancellation")
    SHORT_USE = "short_use", _("Use far shorter than booked")


class ViolationPolicy(models.Model):
    """A facility's consequences: `max_violations` within `window_days` suspend booking there for
    `suspension_days`. A facility without a row (or inactive) suspends nobody."""

    facility = models.OneToOneField("facilities.Facility", on_delete=models.CASCADE, related_name="violation_policy")
    active = models.BooleanField(default=True)
    max_violations = models.PositiveIntegerField(default=3)
    window_days = models.PositiveIntegerField(default=90)
    suspension_days = models.PositiveIntegerField(default=30)
    short_use_percent = models.PositiveIntegerField(
        default=50, help_text=_("Use below this percent of the booked time counts as a violation; 0: never.")
    )

    class Meta:
        verbose_name_plural = "violation policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(max_violations__gte=1) & Q(window_days__gte=1) & Q(suspension_days__gte=1),
                name="violation_policy_positive",
                violation_error_message=_("Violations, window and suspension are at least one."),
            ),
            models.CheckConstraint(
                condition=Q(short_use_percent__lte=100),
                name="violation_policy_short_use_percent",
                violation_error_message=_("The short-use percent is at most 100."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.max_violations} in {self.window_days} days → {self.suspension_days} days"


class Violation(models.Model):
    """A no-show, a late cancellation or use far shorter than booked, counted against its user."""

    Kind = ViolationKind

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="violations")
    facility = models.ForeignKey("facilities.Facility", on_delete=models.PROTECT, related_name="violations")
    booking = models.ForeignKey("booking.Booking", on_delete=models.PROTECT, related_name="violations")
    kind = models.CharField(max_length=20, choices=ViolationKind.choices)
    occurred_at = models.DateTimeField()
    detail = models.CharField(max_length=300, blank=True)
    # Set when an appeal against the suspension it caused was granted: it no longer counts.
    waived = models.BooleanField(default=False)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["user", "facility", "occurred_at"], name="violation_user_facility_at")]
        constraints = [
            models.UniqueConstraint(
                fields=["booking", "kind"],
                name="violation_once_per_booking",
                violation_error_message=_("A booking counts once for each kind of violation."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.user_id} at {self.facility_id} (booking #{self.booking_id})"


class Suspension(models.Model):
    """Booking at a facility suspended for a user; the user may appeal once, a manager decides."""

    class Appeal(models.TextChoices):
        NONE = "none", _("No appeal")
        PENDING = "pending", _("Appeal pending")
        GRANTED = "granted", _("Appeal granted")
        REJECTED = "rejected", _("Appeal rejected")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="suspensions")
    facility = models.ForeignKey("facilities.Facility", on_delete=models.PROTECT, related_name="suspensions")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=300)
    violations = models.ManyToManyField(Violation, related_name="suspensions", blank=True)
    appeal = models.CharField(max_length=10, choices=Appeal.choices, default=Appeal.NONE)
    appeal_text = models.TextField(blank=True, max_length=2000)
    appealed_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "id"]
        indexes = [models.Index(fields=["user", "facility", "ends_at"], name="suspension_user_facility_end")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gte=F("starts_at")),
                name="suspension_ends_after_start",
                violation_error_message=_("A suspension ends after it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"suspension of {self.user_id} at {self.facility_id} until {self.ends_at:%Y-%m-%d}"


auditlog.register(ViolationPolicy)
auditlog.register(Violation)
auditlog.register(Suspension, m2m_fields={"violations"})
