"""When instruments can be used: weekly operating hours and dated closures."""

from auditlog.registry import auditlog
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from common.audit import attributed_to, own_fields

from .catalog import Facility, Instrument


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class OperatingHours(models.Model):
    """One opening span on one weekday. A facility with no rows runs around the clock; an instrument
    with rows of its own uses those instead of its facility's."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="operating_hours")
    instrument = models.ForeignKey(
        Instrument, null=True, blank=True, on_delete=models.CASCADE, related_name="operating_hours"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["facility", "instrument", "weekday", "opens"]
        verbose_name_plural = "operating hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(closes__gt=F("opens")),
                name="hours_close_after_open",
                violation_error_message=_("Closing time must be after opening time."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"

    def clean(self) -> None:
        if self.instrument is not None and self.facility_id and self.instrument.facility_id != self.facility_id:
            raise ValidationError({"instrument": _("The instrument must belong to this facility.")})

    def get_additional_data(self) -> dict:
        return attributed_to(self.facility.host_id)


class Closure(models.Model):
    """A dated interval [start, end) when a whole facility, or one instrument, cannot be booked."""

    class Kind(models.TextChoices):
        MAINTENANCE = "maintenance", _("Maintenance")
        SHUTDOWN = "shutdown", _("Shutdown")
        HOLIDAY = "holiday", _("Holiday")

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="closures")
    instrument = models.ForeignKey(
        Instrument,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="closures",
        help_text=_("Empty: the whole facility is closed."),
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MAINTENANCE)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["start"]
        indexes = [models.Index(fields=["facility", "start"], name="closure_facility_start")]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="closure_end_after_start",
                violation_error_message=_("A closure must end after it starts."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.start:%Y-%m-%d %H:%M}–{self.end:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": _("A closure must end after it starts.")})
        if self.instrument is not None and self.facility_id and self.instrument.facility_id != self.facility_id:
            raise ValidationError({"instrument": _("The instrument must belong to this facility.")})

    def get_additional_data(self) -> dict:
        return attributed_to(self.facility.host_id)


# The audit trail (docs/audit.md): when an instrument can be booked at all.
auditlog.register(OperatingHours, include_fields=own_fields(OperatingHours))
auditlog.register(Closure, include_fields=own_fields(Closure))
