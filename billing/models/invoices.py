"""Invoices, credit notes, their numbering, invoice runs and the Stripe events already handled."""

from decimal import Decimal

from auditlog.registry import auditlog
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from common.audit import attributed_to


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")
    PAID = "paid", _("Paid")
    VOID = "void", _("Void")


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


# Which state may follow which. An issued document is never edited: only paid or void may follow.
INVOICE_TRANSITIONS: dict[str, set[str]] = {
    InvoiceStatus.DRAFT: {InvoiceStatus.ISSUED, InvoiceStatus.VOID},
    InvoiceStatus.ISSUED: {InvoiceStatus.PAID, InvoiceStatus.VOID},
    InvoiceStatus.PAID: set(),
    InvoiceStatus.VOID: set(),
}


class Invoice(models.Model):
    """What one issuer (a facility's host) bills one payer for one month, or a credit note against such
    an invoice. Drafts have no number; issuing allocates the issuer's next number."""

    Status = InvoiceStatus
    Kind = InvoiceKind

    kind = models.CharField(max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    number = models.CharField(max_length=48, null=True, blank=True, unique=True)
    period = models.CharField(max_length=7)
    issuer = models.ForeignKey("facilities.Institution", on_delete=models.PROTECT, related_name="invoices_issued")
    payer = models.ForeignKey("facilities.Institution", on_delete=models.PROTECT, related_name="invoices_owed")
    status = models.CharField(max_length=8, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    currency = models.CharField(max_length=3, default="CNY", editable=False)
    total = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    credit_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes")
    reason = models.TextField(blank=True, help_text=_("Why a credit note or a void."))
    run = models.ForeignKey("billing.InvoiceRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    stripe_invoice_id = models.CharField(max_length=64, blank=True, db_index=True)
    stripe_status = models.CharField(max_length=24, blank=True)

    class Meta:
        ordering = ["period", "issuer_id", "payer_id", "id"]
        indexes = [
            models.Index(fields=["period", "issuer"], name="invoice_period_issuer"),
            models.Index(fields=["period", "payer"], name="invoice_period_payer"),
        ]
        constraints = [
            # Concurrent runs meet here: at most one open draft per issuer, payer and month.
            models.UniqueConstraint(
                fields=["issuer", "payer", "period"],
                condition=Q(status="draft", kind="invoice"),
                name="invoice_one_draft_per_parties_period",
                violation_error_message=_("There is already a draft invoice for these parties and month."),
            ),
            models.CheckConstraint(
                condition=Q(kind="invoice", credit_of__isnull=True) | Q(kind="credit_note", credit_of__isnull=False),
                name="invoice_credit_note_refers",
                violation_error_message=_("A credit note refers to the invoice it corrects; an invoice does not."),
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["issued", "paid"]) | Q(number__isnull=False),
                name="invoice_issued_has_number",
                violation_error_message=_("An issued or paid invoice has a number."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number or f'draft #{self.pk}'} {self.issuer_id}→{self.payer_id} {self.period} {self.total} CNY"

    def can_transition(self, to: str) -> bool:
        return to in INVOICE_TRANSITIONS.get(self.status, set())

    def can_credit(self) -> bool:
        return self.kind == InvoiceKind.INVOICE and self.status in (InvoiceStatus.ISSUED, InvoiceStatus.PAID)

    def get_additional_data(self) -> dict:
        return attributed_to(self.issuer_id, self.payer_id)


# The audit trail (docs/audit.md): an invoice's life — drafted, issued, paid, credited, voided — and its total.
auditlog.register(
    Invoice,
    include_fields=["kind", "number", "status", "total", "reason", "credit_of", "issued_by", "paid_at", "voided_at"],
)


class InvoiceLine(models.Model):
    """One booking share on an invoice (negative on a credit note). A charge line is billed at most once
    (`is_credit` copies the document kind so the database itself can say so)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    charge_line = models.ForeignKey("billing.ChargeLine", on_delete=models.PROTECT, related_name="invoice_lines")
    # Copies of the charge line's booking and account, kept for reading without a join. The database
    # checks them through the charge line already; checking and indexing them again here would double
    # the work of an invoice run (every check fires per row at commit on PostgreSQL). Lines are looked
    # up by invoice or by charge line, never by these.
    booking = models.ForeignKey(
        "booking.Booking", on_delete=models.PROTECT, related_name="invoice_lines", db_constraint=False, db_index=False
    )
    account = models.ForeignKey(
        "facilities.FundingAccount",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoice_lines",
        db_constraint=False,
        db_index=False,
    )
    percent = models.DecimalField(max_digits=5, decimal_places=2)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    is_credit = models.BooleanField(default=False)

    class Meta:
        ordering = ["invoice_id", "booking_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["charge_line"],
                condition=Q(is_credit=False),
                name="invoice_line_bills_charge_once",
                violation_error_message=_("This charge line is already on an invoice."),
            ),
            models.UniqueConstraint(
                fields=["charge_line"],
                condition=Q(is_credit=True),
                name="invoice_line_credits_charge_once",
                violation_error_message=_("This charge line has already been credited."),
            ),
        ]

    def __str__(self) -> str:
        return f"Invoice #{self.invoice_id} line #{self.pk}: booking #{self.booking_id} {self.amount} CNY"


class InvoiceSequence(models.Model):
    """The last number an issuer used in a year; locked while the next is taken, so numbers have no gaps."""

    issuer = models.ForeignKey("facilities.Institution", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "year"], name="invoice_sequence_unique")]

    def __str__(self) -> str:
        return f"Issuer #{self.issuer_id}, {self.year}: last number {self.last}"


class InvoiceRun(models.Model):
    """One run building a month's invoices, with its progress."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    period = models.CharField(max_length=7)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    total = models.PositiveIntegerField(default=0, help_text=_("Charge lines to place."))
    processed = models.PositiveIntegerField(default=0)
    charges_computed = models.PositiveIntegerField(default=0, help_text=_("Ended bookings that had no charge yet."))
    invoices_touched = models.PositiveIntegerField(default=0)
    lines_added = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Invoice run #{self.pk} for {self.period} ({self.status})"


class StripeEvent(models.Model):
    """A webhook event already handled: a replay of the same id does nothing."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="stripe_events")
    outcome = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
