"""China's public-holiday calendar as data the platform keeps: per year, the days off (holidays) and the
weekend days worked in exchange (make-up workdays, 调休). A year with a row here has a schedule; a year
without one is given the statutory holidays provisionally (facilities/holidays.py)."""

from auditlog.registry import auditlog
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Festival(models.TextChoices):
    """The statutory public holidays (全国年节及纪念日放假办法), and `other` for a day off the State
    Council grants beyond them (e.g. 2015's Victory Day)."""

    NEW_YEAR = "new_year", _("New Year's Day")
    SPRING_FESTIVAL = "spring_festival", _("Spring Festival")
    QINGMING = "qingming", _("Qingming Festival")
    LABOUR_DAY = "labour_day", _("Labour Day")
    DRAGON_BOAT = "dragon_boat", _("Dragon Boat Festival")
    MID_AUTUMN = "mid_autumn", _("Mid-Autumn Festival")
    NATIONAL_DAY = "national_day", _("National Day")
    OTHER = "other", _("Other public holiday")


class HolidaySchedule(models.Model):
    """The published schedule of one year. Its days replace the provisional statutory days entirely."""

    class Source(models.TextChoices):
        PACKAGE = "package", _("Loaded from the chinesecalendar package")
        OFFICIAL = "official", _("Entered from the State Council's notice")

    year = models.PositiveSmallIntegerField(unique=True, validators=[MinValueValidator(2000), MaxValueValidator(2099)])
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.OFFICIAL)
    notice = models.CharField(
        max_length=300, blank=True, help_text=_("The notice it comes from, e.g. 国办发明电〔2026〕7号, or its address.")
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["year"]
        constraints = [
            models.CheckConstraint(
                condition=Q(year__gte=2000) & Q(year__lte=2099),
                name="holiday_schedule_year_range",
                violation_error_message=_("The year must be between 2000 and 2099."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.year} ({self.get_source_display()})"


class HolidayDay(models.Model):
    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Public holiday (day off)")
        WORKDAY = "workday", _("Make-up workday")

    schedule = models.ForeignKey(HolidaySchedule, on_delete=models.CASCADE, related_name="days")
    date = models.DateField(unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    festival = models.CharField(max_length=16, choices=Festival.choices)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.get_kind_display()} ({self.get_festival_display()})"


# Holidays decide when office-calendar instruments may be booked: who changed them is kept.
auditlog.register(HolidaySchedule)
auditlog.register(HolidayDay)
