"""Admin: policies, subsidies, vouchers and billing profiles are edited here; charges and invoices are
only looked at (they change through the services, which keep them consistent)."""

from django.contrib import admin

from .models import (
    BillingProfile,
    Charge,
    ChargePolicy,
    HostSubsidy,
    InnovationVoucher,
    Invoice,
    InvoiceRun,
    StripeEvent,
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
    list_display = ("code", "agency", "holder", "percent", "cap", "balance", "valid_from", "valid_until", "active")
    list_filter = ("agency", "active")
    readonly_fields = ("balance",)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.balance = obj.cap  # a new voucher starts full; afterwards only charges draw on it
        super().save_model(request, obj, form, change)


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
