"""What the national platform for large research instruments (重大科研基础设施和大型科研仪器国家网络管理平台)
asks of each instrument, kept beside the instrument rather than on it: the instrument row is the booking
lock and stays narrow. Booking address and fees come from the site itself (the instrument's page, its
published rates) unless a text here says otherwise."""

from decimal import Decimal

from auditlog.registry import auditlog
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .catalog import Instrument

# Instruments of this original value and more must be reported to the national platform (CNY).
REPORTING_THRESHOLD = Decimal("500000")


class SharingMode(models.TextChoices):
    """共享模式 as the national platform names it."""

    OPEN = "open", _("Open to outside users")
    INTERNAL = "internal", _("Shared within the institution")
    NOT_SHARED = "not_shared", _("Not shared")


class InstrumentRegistration(models.Model):
    """The national platform's record of an instrument (科研仪器): one per instrument, optional."""

    instrument = models.OneToOneField(Instrument, on_delete=models.CASCADE, related_name="registration")
    registry_number = models.CharField(
        max_length=40, blank=True, help_text=_("The number the national platform gave the instrument.")
    )
    original_value = models.DecimalField(
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Original value (原值) in CNY; from 500,000 CNY the instrument must be reported."),
    )
    commissioning_date = models.DateField(null=True, blank=True, help_text=_("Date put into service (启用日期)."))
    classification_code = models.CharField(
        max_length=8,
        blank=True,
        validators=[RegexValidator(r"^\d{2}(\d{2}){0,3}$", _("A classification code is 2, 4, 6 or 8 digits."))],
        help_text=_("The national instrument classification code (GB/T 32847), e.g. 0101."),
    )
    specifications = models.TextField(blank=True, help_text=_("Main technical specifications (主要技术指标)."))
    main_functions = models.TextField(blank=True, help_text=_("Main functions (主要功能)."))
    disciplines = models.CharField(max_length=200, blank=True, help_text=_("Main disciplines served (主要学科领域)."))
    service_content = models.TextField(blank=True, help_text=_("What is offered to users (服务内容)."))
    sharing_rules = models.TextField(blank=True, help_text=_("The rules of sharing for users (开放共享规定)."))
    fees = models.TextField(blank=True, help_text=_("Fee schedule (收费标准); empty: the published hourly rates."))
    location = models.CharField(max_length=200, blank=True, help_text=_("Where it stands (安放地址)."))
    contact_name = models.CharField(max_length=100, blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    contact_email = models.EmailField(blank=True)
    sharing_mode = models.CharField(max_length=16, choices=SharingMode.choices, default=SharingMode.OPEN)
    illustrative = models.CharField(
        max_length=300,
        blank=True,
        help_text=_("Which of these values are illustrative rather than public facts; empty when all are facts."),
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(original_value__isnull=True) | Q(original_value__gte=Decimal("0")),
                name="registration_value_not_negative",
                violation_error_message=_("An original value cannot be negative."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.instrument} · {self.registry_number or '—'}"

    @property
    def must_report(self) -> bool:
        return self.original_value is not None and self.original_value >= REPORTING_THRESHOLD


auditlog.register(InstrumentRegistration)
