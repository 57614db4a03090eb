"""What a facility charges and who helps pay: charge policies, host subsidies, innovation vouchers,
and the billing details an institution invoices or is invoiced with."""

from decimal import Decimal

from auditlog.registry import auditlog
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from common.audit import attributed_to, own_fields
from facilities.models.tenants import Province

PERCENT_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]


class BillingModel(models.TextChoices):
    """What time a use is charged for (billing.services.fees.charged_minutes). Every model adds the
    overrun, the use after the booked end."""

    BOOKED = "booked", _("Booked time")
    ACTUAL = "actual", _("Actual time used")
    GREATER = "greater", _("Booked or used time, whichever is greater")
    USED_MINIMUM = "used_min", _("Used time, at least a minimum")


class ChargePolicy(models.Model):
    """How one instrument turns use into money. An instrument without a row uses the defaults below."""

    instrument = models.OneToOneField("facilities.Instrument", on_delete=models.CASCADE, related_name="charge_policy")
    billing_model = models.CharField(max_length=8, choices=BillingModel.choices, default=BillingModel.BOOKED)
    minimum_charge = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), help_text=_("CNY; a used booking costs at least this.")
    )
    minimum_minutes = models.PositiveIntegerField(
        default=0, help_text=_("With “used time, at least a minimum”: the fewest minutes a used booking is charged.")
    )
    no_show_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("100"),
        validators=PERCENT_VALIDATORS,
        help_text=_("Percent of the booked-time fee charged for a no-show."),
    )
    late_cancel_hours = models.PositiveIntegerField(
        default=24, help_text=_("A cancellation less than this many hours before the start is late.")
    )
    late_cancel_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("50"),
        validators=PERCENT_VALIDATORS,
        help_text=_("Percent of the booked-time fee charged for a late cancellation."),
    )

    class Meta:
        verbose_name_plural = "charge policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(minimum_charge__gte=Decimal("0")),
                name="policy_minimum_not_negative",
                violation_error_message=_("A minimum charge cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(no_show_percent__gte=0)
                & Q(no_show_percent__lte=100)
                & Q(late_cancel_percent__gte=0)
                & Q(late_cancel_percent__lte=100),
                name="policy_percents_in_range",
                violation_error_message=_("Fee percents lie between 0 and 100."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} · {self.get_billing_model_display()}"

    def get_additional_data(self) -> dict:
        return attributed_to(self.instrument.facility.host_id)

    @classmethod
    def for_instrument(cls, instrument_id: int) -> "ChargePolicy":
        return cls.objects.filter(instrument_id=instrument_id).first() or cls(instrument_id=instrument_id)


class HostSubsidy(models.Model):
    """A facility covers `percent` of its fee for a partner institution's bookings, within dates."""

    facility = models.ForeignKey("facilities.Facility", on_delete=models.CASCADE, related_name="subsidies")
    partner = models.ForeignKey("facilities.Institution", on_delete=models.CASCADE, related_name="subsidies_received")
    percent = models.DecimalField(max_digits=5, decimal_places=2, validators=PERCENT_VALIDATORS)
    valid_from = models.DateField()
    valid_until = models.DateField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = "host subsidies"
        ordering = ["facility", "partner", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(percent__gt=0) & Q(percent__lte=100),
                name="subsidy_percent_range",
                violation_error_message=_("A subsidy is a percent above 0 and at most 100."),
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("valid_from")),
                name="subsidy_validity_ordered",
                violation_error_message=_("A subsidy's validity must end on or after it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.facility.code} covers {self.percent}% for {self.partner.code}"

    def get_additional_data(self) -> dict:
        return attributed_to(self.facility.host_id, self.partner_id)

    def clean(self) -> None:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": _("The validity must end on or after it starts.")})


class VoucherMode(models.TextChoices):
    """The two ways Delta cities honour an innovation voucher (创新券)."""

    TONGDUI = "tongdui", _("Redeemed by the facility (通兑)")
    TONGYONG = "tongyong", _("Reimbursed to the company (通用)")


class VoucherScheme(models.Model):
    """An issuing authority's voucher rules, as data: the mode, the subsidy rate, the cap per company and
    calendar year, where vouchers may be spent (facility provinces, facilities) and until when."""

    code = models.SlugField(max_length=32, unique=True)
    agency = models.ForeignKey("facilities.Institution", on_delete=models.PROTECT, related_name="voucher_schemes")
    name = models.CharField(max_length=200)
    name_zh = models.CharField(max_length=200, blank=True)
    mode = models.CharField(max_length=12, choices=VoucherMode.choices)
    percent = models.DecimalField(
        max_digits=5, decimal_places=2, validators=PERCENT_VALIDATORS, help_text=_("The subsidy rate, in percent.")
    )
    cap_per_company_year = models.DecimalField(
        max_digits=14, decimal_places=2, help_text=_("CNY one company may draw in one calendar year, all vouchers.")
    )
    provinces = models.JSONField(
        default=list, blank=True, help_text=_("Provinces whose facilities accept the vouchers; empty: all.")
    )
    facilities = models.ManyToManyField(
        "facilities.Facility",
        blank=True,
        related_name="voucher_schemes",
        help_text=_("Facilities that accept the vouchers; empty: every facility of the provinces."),
    )
    valid_from = models.DateField()
    valid_until = models.DateField(help_text=_("No voucher of the scheme is drawn on for service after this day."))

    class Meta:
        ordering = ["agency", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(percent__gt=0) & Q(percent__lte=100),
                name="scheme_percent_range",
                violation_error_message=_("A voucher scheme covers a percent above 0 and at most 100."),
            ),
            models.CheckConstraint(
                condition=Q(cap_per_company_year__gte=Decimal("0")),
                name="scheme_cap_not_negative",
                violation_error_message=_("A scheme's cap per company and year cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("valid_from")),
                name="scheme_validity_ordered",
                violation_error_message=_("A scheme's validity must end on or after it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.get_mode_display()})"

    def clean(self) -> None:
        errors = {}
        if self.agency_id and self.agency.kind != "agency":
            errors["agency"] = _("Voucher schemes belong to government agencies.")
        if not isinstance(self.provinces, list) or any(p not in Province.values for p in self.provinces):
            errors["provinces"] = _("List provinces among: shanghai, anhui, jiangsu, zhejiang.")
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            errors["valid_until"] = _("The validity must end on or after it starts.")
        if errors:
            raise ValidationError(errors)

    def accepts(self, *, facility_id: int, province: str, facility_ids: set[int], day) -> bool:
        """Whether service at this facility on this day may be paid with the scheme's vouchers."""
        return (
            self.valid_from <= day <= self.valid_until
            and (not self.provinces or province in self.provinces)
            and (not facility_ids or facility_id in facility_ids)
        )


class InnovationVoucher(models.Model):
    """Issued by a government agency to an institution: covers `percent` of that institution's share of
    a fee, until `balance` is used up or the validity ends. The agency is invoiced for what it covered.
    `balance` only ever goes down under a row lock; it can never go below zero."""

    code = models.CharField(max_length=48, unique=True)
    agency = models.ForeignKey("facilities.Institution", on_delete=models.PROTECT, related_name="vouchers_issued")
    holder = models.ForeignKey("facilities.Institution", on_delete=models.PROTECT, related_name="vouchers_held")
    percent = models.DecimalField(max_digits=5, decimal_places=2, validators=PERCENT_VALIDATORS)
    cap = models.DecimalField(max_digits=14, decimal_places=2, help_text=_("CNY the voucher covers in all."))
    balance = models.DecimalField(max_digits=14, decimal_places=2, help_text=_("CNY still available."))
    valid_from = models.DateField()
    valid_until = models.DateField()
    facility = models.ForeignKey(
        "facilities.Facility",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="vouchers",
        help_text=_("Empty: usable at every facility."),
    )
    active = models.BooleanField(default=True)
    scheme = models.ForeignKey(
        VoucherScheme,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vouchers",
        help_text=_("The issuer's rules; empty: the voucher's own terms only, redeemed by the facility (通兑)."),
    )

    class Meta:
        ordering = ["valid_until", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=Decimal("0")) & Q(balance__lte=F("cap")),
                name="voucher_balance_within_cap",
                violation_error_message=_("A voucher's balance lies between zero and its cap."),
            ),
            models.CheckConstraint(
                condition=Q(percent__gt=0) & Q(percent__lte=100),
                name="voucher_percent_range",
                violation_error_message=_("A voucher covers a percent above 0 and at most 100."),
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("valid_from")),
                name="voucher_validity_ordered",
                violation_error_message=_("A voucher's validity must end on or after it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.agency.code} → {self.holder.code}, {self.percent}% up to {self.cap} CNY"

    def get_additional_data(self) -> dict:
        return attributed_to(
            self.agency_id, self.holder_id, self.facility.host_id if self.facility is not None else None
        )

    def clean(self) -> None:
        errors = {}
        if self.agency_id and self.agency.kind != "agency":
            errors["agency"] = _("Vouchers are issued by government agencies.")
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            errors["valid_until"] = _("The validity must end on or after it starts.")
        scheme = self.scheme if self.scheme_id else None
        if scheme is not None:
            if self.agency_id and self.agency_id != scheme.agency_id:
                errors["scheme"] = _("The voucher's agency must be the scheme's.")
            if self.holder_id and self.holder.kind != "company":
                errors["holder"] = _("Vouchers of a scheme are held by companies.")
            if self.percent is not None and self.percent > scheme.percent:
                errors["percent"] = _("A voucher cannot cover more than its scheme's rate.")
        if errors:
            raise ValidationError(errors)

    @property
    def mode(self) -> str:
        return self.scheme.mode if self.scheme_id and self.scheme else VoucherMode.TONGDUI

    @property
    def rate(self) -> Decimal:
        """The percent actually covered: the voucher's, never above its scheme's."""
        return min(self.percent, self.scheme.percent) if self.scheme_id and self.scheme else self.percent


class VoucherYearUse(models.Model):
    """What one company drew on one scheme's vouchers in one calendar year. The row is locked while a
    draw is added, and the draw is a conditional update, so the cap per company and year holds."""

    scheme = models.ForeignKey(VoucherScheme, on_delete=models.PROTECT, related_name="year_uses")
    holder = models.ForeignKey("facilities.Institution", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    used = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scheme", "holder", "year"], name="voucher_year_use_unique"),
            models.CheckConstraint(
                condition=Q(used__gte=Decimal("0")),
                name="voucher_year_use_not_negative",
                violation_error_message=_("What a company drew in a year cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.holder_id} on {self.scheme_id} in {self.year}: {self.used} CNY"


class BillingProfile(models.Model):
    """An institution's invoicing details, as issuer and as payer."""

    institution = models.OneToOneField(
        "facilities.Institution", on_delete=models.CASCADE, related_name="billing_profile"
    )
    billing_email = models.EmailField(blank=True)
    address = models.CharField(max_length=300, blank=True)
    tax_id = models.CharField(max_length=32, blank=True, help_text=_("Unified social credit code."))
    collect_with_stripe = models.BooleanField(
        default=False, help_text=_("As issuer: send issued invoices through Stripe Invoices.")
    )
    stripe_customer_id = models.CharField(max_length=64, blank=True, help_text=_("As payer: its Stripe customer."))

    def __str__(self) -> str:
        return f"Billing profile of {self.institution.code}"

    def get_additional_data(self) -> dict:
        return attributed_to(self.institution_id)


# The audit trail (docs/audit.md): what a use costs and who helps pay. A voucher's balance is drawn down
# with an UPDATE under a lock when charges are made (the charges record each draw), so only edits show here.
auditlog.register(ChargePolicy, include_fields=own_fields(ChargePolicy))
auditlog.register(HostSubsidy, include_fields=own_fields(HostSubsidy))
auditlog.register(InnovationVoucher, include_fields=own_fields(InnovationVoucher))
auditlog.register(VoucherScheme, include_fields=own_fields(VoucherScheme))
auditlog.register(BillingProfile, include_fields=own_fields(BillingProfile, exclude=("stripe_customer_id",)))
