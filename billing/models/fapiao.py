"""The fapiao (发票) the issuer's tax system gave an invoice or credit note, and the red-letter
confirmation (红字确认单) without which a credit note does not count against its invoice."""

from decimal import Decimal

from auditlog.registry import auditlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class FapiaoKind(models.TextChoices):
    NORMAL = "normal", _("Ordinary fapiao (普通发票)")
    SPECIAL = "special", _("Special VAT fapiao (专用发票)")


class FapiaoFileType(models.TextChoices):
    PDF = "pdf", "PDF"
    OFD = "ofd", "OFD"
    XML = "xml", "XML"


# VAT rates a fapiao of this platform may carry (0 for exempt services).
TAX_RATES = [Decimal(r) for r in ("0", "0.01", "0.03", "0.05", "0.06", "0.09", "0.13")]


def fapiao_upload_to(instance: "Fapiao", filename: str) -> str:
    return f"fapiao/{instance.issued_on:%Y}/{instance.number}.{instance.file_type}"


class Fapiao(models.Model):
    """One fapiao per invoice or credit note, recorded by the issuer's finance (or by the provider)."""

    Kind = FapiaoKind

    invoice = models.OneToOneField("billing.Invoice", on_delete=models.PROTECT, related_name="fapiao")
    number = models.CharField(max_length=20, unique=True)
    kind = models.CharField(max_length=8, choices=FapiaoKind.choices)
    issued_on = models.DateField()
    buyer_name = models.CharField(max_length=200)
    buyer_tax_id = models.CharField(max_length=18)
    tax_rate = models.DecimalField(max_digits=4, decimal_places=2)
    tax_amount = models.DecimalField(max_digits=14, decimal_places=2)
    file = models.FileField(upload_to=fapiao_upload_to, blank=True)
    file_type = models.CharField(max_length=3, choices=FapiaoFileType.choices, blank=True)
    provider = models.CharField(max_length=64, blank=True, help_text=_("The service that issued it, if any."))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["issued_on", "number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0) & Q(tax_rate__lt=1),
                name="fapiao_tax_rate_fraction",
                violation_error_message=_("A tax rate is a fraction between 0 and 1."),
            ),
            models.CheckConstraint(
                condition=Q(file="") | ~Q(file_type=""),
                name="fapiao_file_has_type",
                violation_error_message=_("An attached fapiao file has a type (PDF, OFD or XML)."),
            ),
        ]

    def __str__(self) -> str:
        return f"Fapiao {self.number} of invoice #{self.invoice_id}"


class RedLetterConfirmation(models.Model):
    """The tax system's confirmation (红字确认单) of a credit note: until it is recorded, the credit
    note does not reduce what the payer owes."""

    credit_note = models.OneToOneField("billing.Invoice", on_delete=models.PROTECT, related_name="red_letter")
    number = models.CharField(max_length=20, unique=True)
    confirmed_on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["confirmed_on", "number"]

    def __str__(self) -> str:
        return f"Red-letter confirmation {self.number} of credit note #{self.credit_note_id}"


class BuyerTaxInfo(models.Model):
    """What a fapiao says about an institution as buyer (开票信息), used in the batch-import file."""

    institution = models.OneToOneField("facilities.Institution", on_delete=models.CASCADE, related_name="tax_info")
    tax_id = models.CharField(max_length=18, help_text=_("Unified social credit code (统一社会信用代码)."))
    fapiao_kind = models.CharField(max_length=8, choices=FapiaoKind.choices, default=FapiaoKind.NORMAL)
    address = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    bank_name = models.CharField(max_length=200, blank=True)
    bank_account = models.CharField(max_length=40, blank=True)

    def __str__(self) -> str:
        return f"{self.institution_id}: {self.tax_id}"

    def clean(self) -> None:
        from ..validators import normalize_tax_id, validate_tax_id

        self.tax_id = normalize_tax_id(self.tax_id)
        try:
            validate_tax_id(self.tax_id)
        except ValidationError as exc:
            raise ValidationError({"tax_id": exc.messages}) from None


auditlog.register(BuyerTaxInfo)
auditlog.register(Fapiao)
auditlog.register(RedLetterConfirmation)
