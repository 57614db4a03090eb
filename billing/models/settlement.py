"""Internal settlement: a charge that the facility's own institution pays is not invoiced; it becomes a
transfer from the paying funding account to the facility's income account, exported as journal lines."""

from decimal import Decimal

from auditlog.registry import auditlog
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from common.audit import attributed_to


class FacilityIncomeAccount(models.Model):
    """The account in the host institution's books that a facility's income is credited to."""

    facility = models.OneToOneField("facilities.Facility", on_delete=models.CASCADE, related_name="income_account")
    code = models.CharField(max_length=48, help_text=_("The account code in the institution's finance system."))

    def __str__(self) -> str:
        return f"{self.code} (income of facility #{self.facility_id})"

    def get_additional_data(self) -> dict:
        return attributed_to(self.facility.host_id)


def default_income_code(facility_code: str) -> str:
    """The income account when the facility has none recorded."""
    return f"{facility_code}-INCOME"


class InternalTransfer(models.Model):
    """One charge line settled inside its institution: debit the paying account, credit the facility's
    income account. A charge line is settled at most once (unique), so invoice runs stay idempotent."""

    charge_line = models.OneToOneField("billing.ChargeLine", on_delete=models.PROTECT, related_name="transfer")
    run = models.ForeignKey("billing.InvoiceRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    institution = models.ForeignKey("facilities.Institution", on_delete=models.PROTECT, related_name="+")
    period = models.CharField(max_length=7)
    date = models.DateField(help_text=_("The day of the service, Asia/Shanghai."))
    debit_account = models.ForeignKey("facilities.FundingAccount", on_delete=models.PROTECT, related_name="+")
    credit_account = models.CharField(max_length=48, help_text=_("The facility's income account code."))
    facility = models.ForeignKey("facilities.Facility", on_delete=models.PROTECT, related_name="+")
    booking = models.ForeignKey("booking.Booking", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["period", "date", "id"]
        indexes = [models.Index(fields=["institution", "period"], name="transfer_institution_period")]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=Decimal("0")),
                name="transfer_amount_not_negative",
                violation_error_message=_("A transfer cannot be negative."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.amount} CNY"

    @property
    def reference(self) -> str:
        return f"SJ-INT-{self.period}-{self.charge_line_id}"

    def get_additional_data(self) -> dict:
        return attributed_to(self.institution_id, self.facility.host_id)


auditlog.register(FacilityIncomeAccount)
auditlog.register(InternalTransfer)
