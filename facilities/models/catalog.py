"""The catalog: facilities, their bookable instruments and the rules and rates each instrument publishes."""

from decimal import Decimal

from auditlog.registry import auditlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from common.audit import attributed_to, own_fields

from .tenants import Institution, Province


class FacilityCategory(models.TextChoices):
    LIGHT_SOURCE = "light_source", _("Light source")
    FREE_ELECTRON_LASER = "free_electron_laser", _("Free-electron laser")
    LASER = "laser", _("Laser")
    PROTEIN_SCIENCE = "protein_science", _("Protein science")
    SUPERCOMPUTER = "supercomputer", _("Supercomputer")
    RADIO_TELESCOPE = "radio_telescope", _("Radio telescope")
    INSTRUMENT_CENTER = "instrument_center", _("Instrument centre")
    FUSION = "fusion", _("Fusion")
    MAGNET = "magnet", _("High magnetic field")
    NANOFABRICATION = "nanofabrication", _("Nanofabrication")
    NETWORK_TESTBED = "network_testbed", _("Network testbed")
    MATERIALS = "materials", _("Materials")
    HYPERGRAVITY = "hypergravity", _("Hypergravity")
    COMPUTING = "computing", _("Computing")


class Facility(models.Model):
    class Status(models.TextChoices):
        OPERATING = "operating", _("Operating")
        UNDER_CONSTRUCTION = "under_construction", _("Under construction")
        SUSPENDED = "suspended", _("Suspended")

    code = models.CharField(max_length=32, unique=True, validators=[RegexValidator(r"^[A-Z0-9-]+$")])
    name = models.CharField(max_length=200)
    name_zh = models.CharField(max_length=200, blank=True)
    province = models.CharField(max_length=16, choices=Province.choices)
    city = models.CharField(max_length=64)
    city_zh = models.CharField(max_length=64, blank=True)
    host = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="facilities")
    host_label = models.CharField(
        max_length=200, blank=True, help_text=_("The host as the facility names itself, when several share it.")
    )
    host_label_zh = models.CharField(max_length=200, blank=True)
    category = models.CharField(max_length=32, choices=FacilityCategory.choices)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.OPERATING)
    description = models.TextField(blank=True)
    description_zh = models.TextField(blank=True)
    website = models.URLField(blank=True)
    booked_as = models.CharField(max_length=200, blank=True)
    booked_as_zh = models.CharField(max_length=200, blank=True)
    follows_office_calendar = models.BooleanField(
        default=False,
        help_text=_(
            "Closed on China's public holidays and open on make-up workdays; off for round-the-clock facilities."
        ),
    )

    class Meta:
        ordering = ["province", "code"]
        verbose_name_plural = "facilities"

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    def get_additional_data(self) -> dict:
        return attributed_to(self.host_id)


class Instrument(models.Model):
    """Something bookable: a beamline end-station, a magnet, a microscope, node-hours of a machine."""

    class Category(models.TextChoices):
        BEAMLINE = "beamline", _("Beamline")
        END_STATION = "end_station", _("End-station")
        MAGNET = "magnet", _("Magnet")
        LASER = "laser", _("Laser")
        FEL = "fel", _("Free-electron laser")
        CENTRIFUGE = "centrifuge", _("Centrifuge")
        SHAKING_TABLE = "shaking_table", _("Shaking table")
        TELESCOPE = "telescope", _("Telescope")
        COMPUTE = "compute", _("Compute")
        MICROSCOPE = "microscope", _("Microscope")
        SPECTROMETER = "spectrometer", _("Spectrometer")
        DIFFRACTOMETER = "diffractometer", _("Diffractometer")
        CLEANROOM_TOOL = "cleanroom_tool", _("Cleanroom tool")
        TEST_STAND = "test_stand", _("Test stand")
        TESTBED = "testbed", _("Testbed")
        OTHER = "other", _("Other")

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="instruments")
    code = models.CharField(max_length=32, validators=[RegexValidator(r"^[A-Z0-9-]+$")])
    name = models.CharField(max_length=200)
    name_zh = models.CharField(max_length=200, blank=True)
    category = models.CharField(max_length=24, choices=Category.choices, default=Category.OTHER)
    description = models.TextField(blank=True)
    description_zh = models.TextField(blank=True)
    # Words people search by that the name may not hold: the technique, its abbreviations and other names
    # ("SEM, electron microscopy"; "电镜, 扫描电镜"). Searched together with the names (facilities.selectors).
    keywords = models.CharField(
        max_length=300, blank=True, help_text=_("Technique words people search by, comma-separated.")
    )
    keywords_zh = models.CharField(max_length=300, blank=True, help_text=_("The same words in Chinese."))
    booking_unit_minutes = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(1440)],
        help_text=_("Bookings start and end on multiples of this, counted from local midnight."),
    )
    min_minutes = models.PositiveIntegerField(default=60)
    max_minutes = models.PositiveIntegerField(default=480)
    lead_time_minutes = models.PositiveIntegerField(
        default=0, help_text=_("How long before the start a booking must be made.")
    )
    horizon_days = models.PositiveIntegerField(default=90, help_text=_("How far ahead bookings may be made."))
    buffer_minutes = models.PositiveIntegerField(default=0, help_text=_("Changeover kept free after each booking."))
    requires_approval = models.BooleanField(default=False)
    requires_qualification = models.BooleanField(default=False)
    auto_approve_qualified = models.BooleanField(
        default=False, help_text=_("Approve at once requests from users qualified on this instrument.")
    )
    auto_approve_host = models.BooleanField(
        default=False, help_text=_("Approve at once requests from members of the host institution.")
    )
    max_future_bookings = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Upcoming held bookings one user may have; empty for no limit.")
    )
    active = models.BooleanField(default=True)
    # Raised in the same transaction as every change to this instrument's calendar (bookings, closures),
    # so clients can tell whether what they hold is current. The row is also the per-instrument write lock.
    availability_version = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["facility__code", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "code"],
                name="instrument_code_unique_per_facility",
                violation_error_message=_("Another instrument of this facility already has this code."),
            ),
            models.CheckConstraint(
                condition=Q(max_minutes__gte=F("min_minutes")),
                name="instrument_max_not_below_min",
                violation_error_message=_("The maximum duration cannot be shorter than the minimum."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.facility.code}/{self.code} — {self.name}"

    def clean(self) -> None:
        errors: dict[str, str | Promise] = {}
        unit = self.booking_unit_minutes or 0
        if unit <= 0 or 1440 % unit:
            errors["booking_unit_minutes"] = _("The booking unit must divide a day (1440 minutes) evenly.")
        else:
            for field in ("min_minutes", "max_minutes"):
                if getattr(self, field) % unit:
                    errors[field] = _("Must be a multiple of the booking unit (%(unit)d minutes).") % {"unit": unit}
        if self.max_minutes is not None and self.min_minutes is not None and self.max_minutes < self.min_minutes:
            errors["max_minutes"] = _("The maximum duration cannot be shorter than the minimum.")
        if errors:
            raise ValidationError(errors)

    def get_additional_data(self) -> dict:
        return attributed_to(self.facility.host_id)


class UserClass(models.TextChoices):
    INTERNAL = "internal", _("Internal (host institution)")
    EXTERNAL_ACADEMIC = "external_academic", _("External academic")
    INDUSTRY = "industry", _("Industry")


class RateCard(models.Model):
    """Published hourly rate of an instrument for one class of user, in CNY."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="rates")
    user_class = models.CharField(max_length=24, choices=UserClass.choices)
    hourly_rate = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="CNY", editable=False)

    class Meta:
        ordering = ["instrument", "user_class"]
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "user_class"],
                name="rate_unique_per_class",
                violation_error_message=_("This instrument already has a rate for that user class."),
            ),
            models.CheckConstraint(
                condition=Q(hourly_rate__gte=Decimal("0")),
                name="rate_not_negative",
                violation_error_message=_("A rate cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} · {self.get_user_class_display()} · {self.hourly_rate} CNY/h"

    def get_additional_data(self) -> dict:
        return attributed_to(self.instrument.facility.host_id)


class Qualification(models.Model):
    """A user cleared by a facility manager to use an instrument; revoked ones are kept for the record."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="qualifications")
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="qualifications")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Lapses by itself at this moment (local midnight after the chosen last day); empty: until revoked.
    expires_at = models.DateTimeField(null=True, blank=True)
    # The expiry the holder was last reminded of (facilities.tasks.remind_lapsing_qualifications):
    # a reminder goes out once per expiry, and a renewal (a new expiry) earns a new one.
    reminded_for = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "instrument"],
                condition=Q(revoked_at__isnull=True),
                name="qualification_one_active",
                violation_error_message=_("This person is already qualified on this instrument."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.instrument}"

    def is_current(self, now) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def get_additional_data(self) -> dict:
        # The host decides; the person's own institutions see what their people may use.
        people = self.user.memberships.values_list("institution_id", flat=True)
        return attributed_to(self.instrument.facility.host_id, *people)


class QualificationRequest(models.Model):
    """A person asks a facility's managers to qualify them on an instrument (after training, say); a
    manager grants it (with an optional expiry) or declines it with a reason."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting a manager")
        GRANTED = "granted", _("Granted")
        DECLINED = "declined", _("Declined")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="qualification_requests")
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="qualification_requests")
    note = models.TextField(blank=True, max_length=1000, help_text=_("Training or experience, for the manager."))
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True, max_length=1000)
    qualification = models.ForeignKey(
        Qualification, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "instrument"],
                condition=Q(status="pending"),
                name="qualification_request_one_pending",
                violation_error_message=_("You have already asked for this qualification."),
            )
        ]
        indexes = [models.Index(fields=["instrument", "status"], name="qualreq_instrument_status")]

    def __str__(self) -> str:
        return f"{self.user} asks for {self.instrument}"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    def get_additional_data(self) -> dict:
        people = self.user.memberships.values_list("institution_id", flat=True)
        return attributed_to(self.instrument.facility.host_id, *people)


class TimeShare(models.Model):
    """A co-building partner's reserved share of an instrument's available hours in each quarter."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="time_shares")
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="time_shares")
    percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "institution"],
                name="time_share_unique_partner",
                violation_error_message=_("This partner already has a share of this instrument."),
            ),
            models.CheckConstraint(
                condition=Q(percent__gt=0) & Q(percent__lte=100),
                name="time_share_percent_range",
                violation_error_message=_("A share is a percent above 0 and at most 100."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.institution.code} keeps {self.percent}% of {self.instrument}"

    def get_additional_data(self) -> dict:
        return attributed_to(self.instrument.facility.host_id, self.institution_id)


# The audit trail (docs/audit.md): the rules and rates that decide who may book what, and what it costs.
auditlog.register(Facility, include_fields=own_fields(Facility))
auditlog.register(Instrument, include_fields=own_fields(Instrument, exclude=("availability_version",)))
auditlog.register(RateCard, include_fields=own_fields(RateCard))
auditlog.register(Qualification, include_fields=own_fields(Qualification, exclude=("reminded_for",)))
auditlog.register(QualificationRequest, include_fields=own_fields(QualificationRequest))
auditlog.register(TimeShare, include_fields=own_fields(TimeShare))
