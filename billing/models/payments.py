"""Bank transfers: the issuer's bank accounts, the statements finance imports, each incoming payment on
them, and how much of a payment is applied to which invoice (a match, audited)."""

from auditlog.registry import auditlog
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class BankAccount(models.Model):
    """Where an institution's payers transfer money; printed on its invoices (the active one)."""

    institution = models.ForeignKey("facilities.Institution", on_delete=models.PROTECT, related_name="bank_accounts")
    bank_name = models.CharField(max_length=200, help_text=_("Bank and branch, e.g. 中国工商银行上海市张江支行."))
    account_name = models.CharField(max_length=200, help_text=_("The account holder (户名)."))
    account_number = models.CharField(max_length=40)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["institution_id", "-active", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account_number"], name="bank_account_number_unique"),
            models.UniqueConstraint(
                fields=["institution"],
                condition=Q(active=True),
                name="bank_account_one_active_per_institution",
                violation_error_message=_("An institution has one active bank account for receiving payments."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank_name} {self.account_number} ({self.account_name})"


class StatementImport(models.Model):
    """One bank statement file imported by the issuer's finance."""

    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="imports")
    bank_format = models.CharField(max_length=32, help_text=_("The layout it was read with (see bank formats)."))
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    rows_read = models.PositiveIntegerField(default=0)
    payments_new = models.PositiveIntegerField(default=0)
    payments_known = models.PositiveIntegerField(default=0, help_text=_("Already imported from an earlier statement."))
    payments_matched = models.PositiveIntegerField(default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-imported_at", "-id"]

    def __str__(self) -> str:
        return f"Statement {self.filename} ({self.bank_format}) into {self.bank_account_id}"


class PaymentStatus(models.TextChoices):
    UNMATCHED = "unmatched", _("Unmatched")
    PARTLY_APPLIED = "partly_applied", _("Partly applied")
    APPLIED = "applied", _("Applied")


class BankPayment(models.Model):
    """One incoming transfer on a statement. `fingerprint` identifies it across overlapping statements
    (the bank's own transaction id when the layout has one), so it is imported, and applied, once."""

    Status = PaymentStatus

    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="payments")
    statement = models.ForeignKey(StatementImport, on_delete=models.PROTECT, related_name="payments")
    fingerprint = models.CharField(max_length=64)
    bank_reference = models.CharField(max_length=64, blank=True)
    value_date = models.DateField()
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    applied = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    payer_name = models.CharField(max_length=200, blank=True)
    payer_account = models.CharField(max_length=64, blank=True)
    memo = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.UNMATCHED)
    note = models.CharField(max_length=300, blank=True, help_text=_("Why it was not matched automatically."))

    class Meta:
        ordering = ["value_date", "id"]
        indexes = [models.Index(fields=["bank_account", "status"], name="bank_payment_account_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["bank_account", "fingerprint"],
                name="bank_payment_once_per_account",
                violation_error_message=_("This payment has already been imported."),
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="bank_payment_positive",
                violation_error_message=_("A payment is positive."),
            ),
            models.CheckConstraint(
                condition=Q(applied__gte=0) & Q(applied__lte=models.F("amount")),
                name="bank_payment_applied_within_amount",
                violation_error_message=_("A payment cannot be applied for more than it brought."),
            ),
        ]

    def __str__(self) -> str:
        return f"Payment {self.value_date} {self.amount} CNY from {self.payer_name or '?'}"

    @property
    def unapplied(self):
        return self.amount - self.applied


class MatchMethod(models.TextChoices):
    REFERENCE = "reference", _("Payment reference")
    NUMBER = "number", _("Invoice number")
    AMOUNT = "amount", _("Payer and amount")
    MANUAL = "manual", _("By hand")


class PaymentMatch(models.Model):
    """`amount` of a payment applied to an invoice, by whom (nobody: automatically) and when."""

    Method = MatchMethod

    payment = models.ForeignKey(BankPayment, on_delete=models.PROTECT, related_name="matches")
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="payment_matches")
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    method = models.CharField(max_length=10, choices=MatchMethod.choices)
    matched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    matched_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["matched_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="payment_match_positive",
                violation_error_message=_("A match is positive."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} CNY of payment #{self.payment_id} to invoice #{self.invoice_id}"


auditlog.register(BankAccount)
auditlog.register(BankPayment)
auditlog.register(PaymentMatch)
