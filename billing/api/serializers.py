"""JSON shapes of the billing API (SPEC section 3). Money is a decimal string in yuan."""

from rest_framework import serializers

from common.time import iso_local

from ..models import Invoice, InvoiceLine, InvoiceRun


def money(value) -> str:
    return f"{value:.2f}"


class InvoiceLineSerializer(serializers.ModelSerializer):
    account = serializers.SerializerMethodField()
    voucher = serializers.SerializerMethodField()
    percent = serializers.SerializerMethodField()
    amount = serializers.SerializerMethodField()

    class Meta:
        model = InvoiceLine
        fields = ["booking", "account", "voucher", "percent", "amount"]

    def get_account(self, line) -> str | None:
        return line.account.code if line.account_id else None

    def get_voucher(self, line) -> str | None:
        voucher = line.charge_line.voucher if line.charge_line_id else None
        return voucher.code if voucher else None

    def get_percent(self, line) -> str:
        return f"{line.percent:.2f}"

    def get_amount(self, line) -> str:
        return money(line.amount)


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
    heartbeat_at = serializers.SerializerMethodField()
    stale = serializers.BooleanField(source="is_stale", read_only=True)

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
            "heartbeat_at",
            "attempts",
            "stale",
        ]

    def get_created_at(self, run) -> str:
        return iso_local(run.created_at)

    def get_heartbeat_at(self, run) -> str:
        return iso_local(run.heartbeat_at)

    def get_finished_at(self, run) -> str | None:
        return iso_local(run.finished_at) if run.finished_at else None


class PeriodSerializer(serializers.Serializer):
    period = serializers.CharField(help_text="YYYY-MM")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)
