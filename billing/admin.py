"""Admin: policies, subsidies, vouchers and billing profiles are edited here; charges and invoices are
only looked at (they change through the services, which keep them consistent)."""

from django.contrib import admin

from .models import (
    BankAccount,
    BankPayment,
    BillingProfile,
    BuyerTaxInfo,
    Charge,
    ChargePolicy,
    FacilityIncomeAccount,
    Fapiao,
    HostSubsidy,
    InnovationVoucher,
    InternalTransfer,
    Invoice,
    InvoiceRun,
    PaymentMatch,
    RedLetterConfirmation,
    StatementImport,
    StripeEvent,
    VoucherRedemption,
    VoucherScheme,
)


@admin.register(ChargePolicy)
class ChargePolicyAdmin(admin.ModelAdmin):
    list_display = (
        "instrument",
        "billing_model",
        "minimum_charge",
        "minimum_minutes",
        "no_show_percent",
        "late_cancel_hours",
        "late_cancel_percent",
    )
    list_filter = ("billing_model", "instrument__facility")
    autocomplete_fields = ()
    raw_id_fields = ("instrument",)


@admin.register(HostSubsidy)
class HostSubsidyAdmin(admin.ModelAdmin):
    list_display = ("facility", "partner", "percent", "valid_from", "valid_until")
    list_filter = ("facility",)


@admin.register(InnovationVoucher)
class InnovationVoucherAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "agency",
        "holder",
        "scheme",
        "percent",
        "cap",
        "balance",
        "valid_from",
        "valid_until",
        "active",
    )
    list_filter = ("agency", "scheme", "active")
    readonly_fields = ("balance",)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.balance = obj.cap  # a new voucher starts full; afterwards only charges draw on it
        super().save_model(request, obj, form, change)


@admin.register(VoucherScheme)
class VoucherSchemeAdmin(admin.ModelAdmin):
    list_display = ("code", "agency", "mode", "percent", "cap_per_company_year", "provinces", "valid_until")
    list_filter = ("agency", "mode")
    filter_horizontal = ("facilities",)


@admin.register(FacilityIncomeAccount)
class FacilityIncomeAccountAdmin(admin.ModelAdmin):
    list_display = ("facility", "code")


@admin.register(BillingProfile)
class BillingProfileAdmin(admin.ModelAdmin):
    list_display = ("institution", "billing_email", "collect_with_stripe", "stripe_customer_id")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Charge)
class ChargeAdmin(ReadOnlyAdmin):
    list_display = (
        "booking",
        "kind",
        "period",
        "facility",
        "user_class",
        "gross",
        "subsidy",
        "amount",
        "voucher_amount",
    )
    list_filter = ("period", "kind", "user_class", "facility")


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "kind", "period", "issuer", "payer", "status", "total", "stripe_status")
    list_filter = ("period", "status", "kind", "issuer")


@admin.register(InvoiceRun)
class InvoiceRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "period", "status", "processed", "total", "lines_added", "created_at", "finished_at")


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "type", "invoice", "outcome", "received_at")


@admin.register(VoucherRedemption)
class VoucherRedemptionAdmin(ReadOnlyAdmin):
    list_display = ("id", "voucher", "mode", "agency", "holder", "facility", "province", "period", "amount", "status")
    list_filter = ("mode", "status", "agency", "province", "year")


@admin.register(InternalTransfer)
class InternalTransferAdmin(ReadOnlyAdmin):
    list_display = ("reference", "institution", "date", "debit_account", "credit_account", "amount", "booking")
    list_filter = ("period", "institution")


# --- receivables: accounts and tax details are data edited here; what finance records goes through the
# services (docs/receivables.md), so it is only looked at here.


@admin.register(BankAccount)
class BankAccountAdmin(admin.ModelAdmin):
    list_display = ("institution", "bank_name", "account_name", "account_number", "active")
    list_filter = ("active",)


@admin.register(BuyerTaxInfo)
class BuyerTaxInfoAdmin(admin.ModelAdmin):
    list_display = ("institution", "tax_id", "fapiao_kind")


@admin.register(Fapiao)
class FapiaoAdmin(ReadOnlyAdmin):
    list_display = ("number", "invoice", "kind", "issued_on", "buyer_name", "tax_amount", "file_type", "recorded_by")


@admin.register(RedLetterConfirmation)
class RedLetterConfirmationAdmin(ReadOnlyAdmin):
    list_display = ("number", "credit_note", "confirmed_on", "recorded_by")


@admin.register(StatementImport)
class StatementImportAdmin(ReadOnlyAdmin):
    list_display = ("filename", "bank_account", "bank_format", "payments_new", "payments_matched", "imported_at")


@admin.register(BankPayment)
class BankPaymentAdmin(ReadOnlyAdmin):
    list_display = ("value_date", "amount", "applied", "payer_name", "memo", "status", "bank_account")
    list_filter = ("status", "bank_account")


@admin.register(PaymentMatch)
class PaymentMatchAdmin(ReadOnlyAdmin):
    list_display = ("payment", "invoice", "amount", "method", "matched_by", "matched_at")
