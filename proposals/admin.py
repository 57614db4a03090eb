"""Read-mostly admin: the platform's administrators inspect calls and proposals here; every change of
state goes through the services (API and pages), which check who may and keep the history."""

from django.contrib import admin

from .models import BeamSession, Call, CallInstrument, Proposal, ReviewAssignment, ShiftRequest


class OfferInline(admin.TabularInline):
    model = CallInstrument
    extra = 0
    raw_id_fields = ["instrument"]


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ["facility", "code", "title", "opens_at", "closes_at", "cycle_start", "cycle_end"]
    list_filter = ["facility"]
    inlines = [OfferInline]


class RequestInline(admin.TabularInline):
    model = ShiftRequest
    extra = 0
    raw_id_fields = ["instrument"]


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "call", "track", "status", "institution", "submitted_at"]
    list_filter = ["status", "track", "call__facility"]
    search_fields = ["title", "principal_investigator__username"]
    raw_id_fields = ["principal_investigator", "institution", "earlier", "call"]
    readonly_fields = ["status", "submitted_at", "decided_at"]
    inlines = [RequestInline]


@admin.register(ReviewAssignment)
class ReviewAssignmentAdmin(admin.ModelAdmin):
    list_display = ["proposal", "reviewer", "grade", "graded_at"]
    raw_id_fields = ["proposal", "reviewer", "assigned_by"]


@admin.register(BeamSession)
class BeamSessionAdmin(admin.ModelAdmin):
    list_display = ["id", "request", "booking", "shifts", "state", "lost_shifts", "forfeited"]
    list_filter = ["state", "forfeited"]
    raw_id_fields = ["request", "booking", "confirmed_by"]
    readonly_fields = ["state", "forfeited", "lost_shifts"]
