"""Admin: usage settings and violation policies are edited here; sessions, violations and suspensions are
only looked at (they change through the services, which check, lock and audit; the agent key is issued
through the API, shown once)."""

from django.contrib import admin

from .models import Suspension, UsageSession, UsageSettings, Violation, ViolationPolicy


@admin.register(UsageSettings)
class UsageSettingsAdmin(admin.ModelAdmin):
    list_display = ("instrument", "checkin_early_minutes", "no_show_after_minutes", "heartbeat_timeout_minutes")
    raw_id_fields = ("instrument",)
    readonly_fields = ("agent_key_rotated_at",)


@admin.register(ViolationPolicy)
class ViolationPolicyAdmin(admin.ModelAdmin):
    list_display = ("facility", "active", "max_violations", "window_days", "suspension_days", "short_use_percent")


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(UsageSession)
class UsageSessionAdmin(ReadOnly):
    list_display = ("instrument", "user", "booking", "start", "end", "source", "ended_by", "validated_by")
    list_filter = ("source", "ended_by", "instrument__facility")


@admin.register(Violation)
class ViolationAdmin(ReadOnly):
    list_display = ("user", "facility", "booking", "kind", "occurred_at", "waived")
    list_filter = ("kind", "facility")


@admin.register(Suspension)
class SuspensionAdmin(ReadOnly):
    list_display = ("user", "facility", "starts_at", "ends_at", "appeal")
    list_filter = ("appeal", "facility")
