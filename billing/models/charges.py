"""What a booking costs: the rate fixed when it was made, the charge computed when it ended, and the
charge's lines, one per payer share (funding accounts, and the agency behind a voucher)."""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from facilities.models.catalog import UserClass

from .policies import BillingModel


class RateSnapshot(models.Model):
    """The user class and hourly rate in force when the booking was made; later rate changes do not touch it."""

    booking = models.OneToOneField("booking.Booking", on_delete=models.CASCADE, related_name="rate_snapshot")
    user_class = models.CharField(max_length=24, choices=UserClass.choices)
    hourly_rate = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="CNY", editable=False)
    published = models.BooleanField(
        default=True, help_text=_("False: the instrument had no rate for this class (free).")
    )
    fixed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(hourly_rate__gte=Decimal("0")),
                name="snapshot_rate_not_negative",
                violation_error_message=_("A rate cannot be negative."),
            )
        ]

    def __str__(self) -> str:
        return f"Rate of booking #{self.booking_id}: {self.hourly_rate} {self.currency}/h ({self.user_class})"


class ChargeKind(models.TextChoices):
    USAGE = "usage", _("Usage")
    NO_SHOW = "no_show", _("No-show fee")
    LATE_CANCELLATION = "late_cancellation", _("Late-cancellation fee")


class Charge(models.Model):
    """One booking's fee, computed once when it completed, was a no-show or was cancelled late.

    gross = rate × time (at least the minimum); subsidy = what the host covers; amount = gross − subsidy,
    which the charge lines divide exactly (their amounts always add up to `amount`)."""

    Kind = ChargeKind

    booking = models.OneToOneField("booking.Booking", on_delete=models.PROTECT, related_name="charge")
    kind = models.CharField(max_length=24, choices=ChargeKind.choices)
    period = models.CharField(max_length=7, help_text=_("YYYY-MM of the booking's start, Asia/Shanghai."))
    instrument = models.ForeignKey("facilities.Instrument", on_delete=models.PROTECT, related_name="charges")
    facility = models.ForeignKey("facilities.Facility", on_delete=models.PROTECT, related_name="charges")
    issuer = models.ForeignKey(
        "facilities.Institution",
        on_delete=models.PROTECT,
        related_name="charges_issued",
        help_text=_("The facility's host institution, which invoices the fee."),
    )
    requester_institution = models.ForeignKey(
        "facilities.Institution", on_delete=models.PROTECT, related_name="charges_incurred"
    )
    user_class = models.CharField(max_length=24, choices=UserClass.choices)
    hourly_rate = models.DecimalField(max_digits=12, decimal_places=2)
    billing_model = models.CharField(max_length=8, choices=BillingModel.choices)
    minutes = models.PositiveIntegerField(help_text=_("Minutes charged for, per the billing model."))
    booked_minutes = models.PositiveIntegerField(default=0)
    used_minutes = models.PositiveIntegerField(null=True, blank=True, help_text=_("Empty: no use was recorded."))
    overrun_minutes = models.PositiveIntegerField(default=0, help_text=_("Use after the booked end, charged too."))
    gross = models.DecimalField(max_digits=14, decimal_places=2)
    subsidy_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    subsidy = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text=_("gross − subsidy: what payers owe."))
    voucher = models.ForeignKey(
        "billing.InnovationVoucher", null=True, blank=True, on_delete=models.PROTECT, related_name="charges"
    )
    voucher_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["period", "booking_id"]
        indexes = [
            models.Index(fields=["period", "issuer"], name="charge_period_issuer"),
            models.Index(fields=["facility", "period"], name="charge_facility_period"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(gross__gte=0) & Q(subsidy__gte=0) & Q(amount__gte=0) & Q(voucher_amount__gte=0),
                name="charge_money_not_negative",
                violation_error_message=_("Charge amounts cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(amount=models.F("gross") - models.F("subsidy")),
                name="charge_amount_is_gross_less_subsidy",
                violation_error_message=_("A charge's amount is its gross less the subsidy."),
            ),
        ]

    def __str__(self) -> str:
        return f"Charge #{self.pk} booking #{self.booking_id} {self.amount} CNY ({self.kind})"


class ChargeLine(models.Model):
    """One payer's share of a charge: a funding account's percent of it, or the part a voucher covers
    (then `account` is empty and `payer` is the voucher's agency)."""

    charge = models.ForeignKey(Charge, on_delete=models.CASCADE, related_name="lines")
    booking = models.ForeignKey("booking.Booking", on_delete=models.PROTECT, related_name="charge_lines")
    account = models.ForeignKey(
        "facilities.FundingAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="charge_lines"
    )
    voucher = models.ForeignKey(
        "billing.InnovationVoucher", null=True, blank=True, on_delete=models.PROTECT, related_name="charge_lines"
    )
    payer = models.ForeignKey("facilities.Institution", on_delete=models.PROTECT, related_name="charge_lines_owed")
    issuer = models.ForeignKey("facilities.Institution", on_delete=models.PROTECT, related_name="charge_lines_issued")
    period = models.CharField(max_length=7)
    user_class = models.CharField(max_length=24, choices=UserClass.choices)
    percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        help_text=_("The account's split percent; for a voucher line, the voucher's percent."),
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["charge_id", "id"]
        indexes = [
            models.Index(fields=["period", "issuer", "payer"], name="chargeline_period_parties"),
            models.Index(fields=["account", "period"], name="chargeline_account_period"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(account__isnull=False) & Q(voucher__isnull=True))
                | (Q(account__isnull=True) & Q(voucher__isnull=False)),
                name="chargeline_account_or_voucher",
                violation_error_message=_("A charge line is paid by a funding account or by a voucher, not both."),
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="chargeline_amount_not_negative",
                violation_error_message=_("A charge line cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"Charge #{self.charge_id} line #{self.pk}: {self.percent}% = {self.amount} CNY"
