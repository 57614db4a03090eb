"""The Django admin over bookings: browse, search and filter everything; change state only through the
booking services (approve, reject, cancel actions), never by editing rows, so no admin click gets
around a rule, the audit trail or the live updates."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from common.errors import Conflict

from . import services
from .models import Booking, BookingBundle, BookingEvent, BookingSeries, BookingSplit, IdempotencyRecord, WaitlistEntry
from .selectors import bookings_visible_to


class ReadOnlyMixin:
    """Rows are written by services only; the admin shows them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class BookingEventInline(ReadOnlyMixin, admin.TabularInline):
    model = BookingEvent
    extra = 0
    fields = readonly_fields = ("at", "actor", "from_status", "to_status", "reason", "data")
    ordering = ["at", "id"]


class BookingSplitInline(ReadOnlyMixin, admin.TabularInline):
    model = BookingSplit
    extra = 0
    fields = readonly_fields = ("account", "percent")


def _run(modeladmin, request, queryset, action, verb: str) -> None:
    done, refused = 0, []
    for pk in queryset.order_by("pk").values_list("pk", flat=True):
        try:
            action(
                actor=request.user,
                booking_id=pk,
                reason=f"{verb.capitalize()} in the admin by {request.user.username}.",
            )
            done += 1
        except (Conflict, ValidationError, PermissionDenied, Http404) as exc:
            words = exc.detail if isinstance(exc, Conflict) else " ".join(getattr(exc, "messages", [str(exc)]))
            refused.append(f"#{pk}: {words}")
    if done:
        modeladmin.message_user(request, f"{done} booking(s) {verb}.", messages.SUCCESS)
    for line in refused:
        modeladmin.message_user(request, line, messages.ERROR)


@admin.action(description="Approve selected bookings", permissions=["view"])
def approve(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, services.booking_approve, "approved")


@admin.action(description="Reject selected bookings", permissions=["view"])
def reject(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, services.booking_reject, "rejected")


@admin.action(description="Cancel selected bookings", permissions=["view"])
def cancel(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, services.booking_cancel, "cancelled")


@admin.register(Booking)
class BookingAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "instrument", "start", "end", "status", "requester", "institution", "series", "bundle"]
    list_filter = ["status", "instrument__facility", "institution", "start"]
    search_fields = ["=id", "requester__username", "instrument__code", "instrument__facility__code", "purpose"]
    date_hierarchy = "start"
    list_select_related = ["instrument", "instrument__facility", "requester", "institution", "series", "bundle"]
    inlines = [BookingSplitInline, BookingEventInline]
    actions = [approve, reject, cancel]
    readonly_fields = [f.name for f in Booking._meta.fields]

    def get_queryset(self, request):
        # Staff who are not platform admins see what the API would show them, nothing more.
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.filter(pk__in=bookings_visible_to(request.user).values("pk"))


class _BookingsInline(ReadOnlyMixin, admin.TabularInline):
    """The bookings of a series or a bundle, each linked to its own page."""

    model = Booking
    extra = 0
    show_change_link = True


class SeriesBookingInline(_BookingsInline):
    fk_name = "series"
    fields = readonly_fields = ("start", "end", "status")


class BundleBookingInline(_BookingsInline):
    fk_name = "bundle"
    fields = readonly_fields = ("instrument", "start", "end", "status")


@admin.register(BookingSeries)
class BookingSeriesAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "instrument", "requester", "count", "interval_weeks", "created_at"]
    list_filter = ["instrument__facility"]
    search_fields = ["requester__username", "instrument__code"]
    inlines = [SeriesBookingInline]


@admin.register(BookingBundle)
class BookingBundleAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "requester", "purpose", "created_at"]
    search_fields = ["requester__username", "purpose"]
    inlines = [BundleBookingInline]


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "instrument", "user", "start", "end", "status", "created_at", "offer_expires_at"]
    list_filter = ["status", "instrument__facility"]
    search_fields = ["user__username", "instrument__code"]


@admin.register(BookingEvent)
class BookingEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "booking", "at", "actor", "from_status", "to_status", "reason"]
    list_filter = ["to_status"]
    search_fields = ["=booking__id", "actor__username", "reason"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "user", "key", "status_code", "created_at"]
    search_fields = ["user__username", "key"]
