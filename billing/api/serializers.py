"""JSON shapes of the billing API (SPEC section 3). Money is a decimal string in yuan."""

from rest_framework import serializers

from common.time import iso_local

from ..models import Invoice, InvoiceLine, InvoiceRun, VoucherRedemption


def money(value) -> str:
    return f"{value:.2f}"


class InvoiceLineSerializer(serializers.ModelSerializer):
    account = serializers.SerializerMethodField()
    voucher = serializers.SerializerMethodField()
    percent = serializers.SerializerMethodField()
    amount = serializers.SerializerMethodField()
    charged_for = serializers.SerializerMethodField()

    class Meta:
        model = InvoiceLine
        fields = ["booking", "account", "voucher", "percent", "amount", "charged_for"]

    def get_account(self, line) -> str | None:
        return line.account.code if line.account_id else None

    def get_voucher(self, line) -> str | None:
        voucher = line.charge_line.voucher if line.charge_line_id else None
        return voucher.code if voucher else None

    def get_percent(self, line) -> str:
        return f"{line.percent:.2f}"

    def get_amount(self, line) -> str:
        return money(line.amount)

    def get_charged_for(self, line) -> dict | None:
        """What the charge behind the line counted: its kind, the billing model, and the minutes booked,
        used, overrun and charged."""
        charge = line.charge_line.charge if line.charge_line_id else None
        if charge is None:
            return None
        return {
            "kind": charge.kind,
            "billing_model": charge.billing_model,
            "minutes": charge.minutes,
            "booked_minutes": charge.booked_minutes,
            "used_minutes": charge.used_minutes,
            "overrun_minutes": charge.overrun_minutes,
        }


class InvoiceSerializer(serializers.ModelSerializer):
    issuer = serializers.CharField(source="issuer.code")
    payer = serializers.CharField(source="payer.code")
    total = serializers.SerializerMethodField()
    credit_of = serializers.SerializerMethodField()
    issued_at = serializers.SerializerMethodField()
    lines = InvoiceLineSerializer(many=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "kind",
            "period",
            "issuer",
            "payer",
            "status",
            "currency",
            "total",
            "credit_of",
            "issued_at",
            "stripe_status",
            "lines",
        ]

    def get_total(self, invoice) -> str:
        return money(invoice.total)

    def get_credit_of(self, invoice) -> int | None:
        return invoice.credit_of_id

    def get_issued_at(self, invoice) -> str | None:
        return iso_local(invoice.issued_at) if invoice.issued_at else None


class InvoiceRunSerializer(serializers.ModelSerializer):
    created_at = serializers.SerializerMethodField()
    finished_at = serializers.SerializerMethodField()

    class Meta:
        model = InvoiceRun
        fields = [
            "id",
            "period",
            "status",
            "total",
            "processed",
            "charges_computed",
            "invoices_touched",
            "lines_added",
            "error",
            "created_at",
            "finished_at",
        ]

    def get_created_at(self, run) -> str:
        return iso_local(run.created_at)

    def get_finished_at(self, run) -> str | None:
        return iso_local(run.finished_at) if run.finished_at else None


class PeriodSerializer(serializers.Serializer):
    period = serializers.CharField(help_text="YYYY-MM")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class RedemptionSerializer(serializers.ModelSerializer):
    """A voucher redemption; for a 通用 voucher, the company's reimbursement claim."""

    voucher = serializers.CharField(source="voucher.code")
    scheme = serializers.SerializerMethodField()
    agency = serializers.CharField(source="agency.code")
    holder = serializers.CharField(source="holder.code")
    facility = serializers.CharField(source="facility.code")
    booking = serializers.IntegerField(source="charge.booking_id")
    amount = serializers.SerializerMethodField()
    submitted_at = serializers.SerializerMethodField()
    decided_at = serializers.SerializerMethodField()
    reimbursed_at = serializers.SerializerMethodField()

    class Meta:
        model = VoucherRedemption
        fields = [
            "id",
            "voucher",
            "scheme",
            "mode",
            "agency",
            "holder",
            "facility",
            "province",
            "year",
            "period",
            "booking",
            "amount",
            "status",
            "submitted_at",
            "decided_at",
            "reimbursed_at",
            "reason",
        ]

    def get_scheme(self, obj) -> str | None:
        return obj.scheme.code if obj.scheme_id else None

    def get_amount(self, obj) -> str:
        return money(obj.amount)

    def get_submitted_at(self, obj) -> str | None:
        return iso_local(obj.submitted_at) if obj.submitted_at else None

    def get_decided_at(self, obj) -> str | None:
        return iso_local(obj.decided_at) if obj.decided_at else None

    def get_reimbursed_at(self, obj) -> str | None:
        return iso_local(obj.reimbursed_at) if obj.reimbursed_at else None


class RedemptionSummarySerializer(serializers.Serializer):
    agency = serializers.CharField()
    province = serializers.CharField()
    mode = serializers.CharField()
    count = serializers.IntegerField()
    amount = serializers.CharField(help_text="Yuan, two decimals")
