"""What each charge drew on an innovation voucher (a redemption), and, for 通用 vouchers, the company's
reimbursement claim on it: pending → submitted → approved → reimbursed, or refused."""

from decimal import Decimal

from auditlog.registry import auditlog
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from common.audit import attributed_to

from .policies import VoucherMode


class RedemptionStatus(models.TextChoices):
    INVOICED = "invoiced", _("Invoiced to the authority")
    PENDING = "pending", _("Awaiting the claim")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    REIMBURSED = "reimbursed", _("Reimbursed")
    REFUSED = "refused", _("Refused")


# Which claim state may follow which (通用 only; a 通兑 redemption is invoiced and stays so).
CLAIM_TRANSITIONS: dict[str, set[str]] = {
    RedemptionStatus.PENDING: {RedemptionStatus.SUBMITTED},
    RedemptionStatus.SUBMITTED: {RedemptionStatus.APPROVED, RedemptionStatus.REFUSED},
    RedemptionStatus.APPROVED: {RedemptionStatus.REIMBURSED, RedemptionStatus.REFUSED},
    RedemptionStatus.REIMBURSED: set(),
    RedemptionStatus.REFUSED: set(),
    RedemptionStatus.INVOICED: set(),
}


class VoucherRedemption(models.Model):
    """The part of one charge a voucher covers. 通兑: a charge line billed to the authority. 通用: the
    company paid in full and claims this amount back from the authority with the evidence pack."""

    Status = RedemptionStatus

    charge = models.OneToOneField("billing.Charge", on_delete=models.CASCADE, related_name="redemption")
    voucher = models.ForeignKey("billing.InnovationVoucher", on_delete=models.PROTECT, related_name="redemptions")
    scheme = models.ForeignKey(
        "billing.VoucherScheme", null=True, blank=True, on_delete=models.PROTECT, related_name="redemptions"
    )
    mode = models.CharField(max_length=12, choices=VoucherMode.choices)
    agency = models.ForeignKey("facilities.Institution", on_delete=models.PROTECT, related_name="+")
    holder = models.ForeignKey("facilities.Institution", on_delete=models.PROTECT, related_name="+")
    facility = models.ForeignKey("facilities.Facility", on_delete=models.PROTECT, related_name="+")
    province = models.CharField(max_length=16, help_text=_("The facility's province."))
    year = models.PositiveSmallIntegerField(help_text=_("Calendar year of the service, Asia/Shanghai."))
    period = models.CharField(max_length=7)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(max_length=12, choices=RedemptionStatus.choices)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    reimbursed_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text=_("Why the authority refused."))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["period", "id"]
        indexes = [models.Index(fields=["agency", "year"], name="redemption_agency_year")]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=Decimal("0")),
                name="redemption_amount_positive",
                violation_error_message=_("A redemption is a positive amount."),
            ),
            models.CheckConstraint(
                condition=(Q(mode="tongdui") & Q(status="invoiced")) | (Q(mode="tongyong") & ~Q(status="invoiced")),
                name="redemption_status_fits_mode",
                violation_error_message=_("Only a 通用 voucher is claimed; a 通兑 one is invoiced to the authority."),
            ),
        ]

    def __str__(self) -> str:
        return f"Redemption #{self.pk}: {self.amount} CNY of voucher #{self.voucher_id} ({self.status})"

    def can_transition(self, to: str) -> bool:
        return to in CLAIM_TRANSITIONS.get(self.status, set())

    def get_additional_data(self) -> dict:
        return attributed_to(self.agency_id, self.holder_id, self.facility.host_id)


auditlog.register(VoucherRedemption)
