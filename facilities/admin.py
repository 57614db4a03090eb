from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .companies import company_approve, company_decline
from .models import (
    ApiToken,
    Closure,
    CompanyRegistration,
    Facility,
    FundingAccount,
    HolidayDay,
    HolidaySchedule,
    Institution,
    InstitutionDomain,
    Instrument,
    InstrumentRegistration,
    JoinRequest,
    Membership,
    OperatingHours,
    Qualification,
    RateCard,
    TimeShare,
    User,
)
from .services import person_anonymise


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    filter_horizontal = ["facilities"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [MembershipInline]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Sanjiao", {"fields": ("language", "default_account", "calendar_token", "anonymised_at")}),
    )
    readonly_fields = ["calendar_token", "anonymised_at"]
    list_display = ["username", "email", "first_name", "last_name", "is_superuser", "is_active"]
    actions = ["anonymise", "unlock_sign_in"]

    @admin.action(
        description=_("Anonymise the selected departed people (PIPL; cannot be undone)"), permissions=["anonymise"]
    )
    def anonymise(self, request, queryset):
        done = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                person_anonymise(actor=request.user, user_id=pk)
            except (PermissionDenied, ValidationError) as exc:
                self.message_user(request, " ".join(getattr(exc, "messages", [str(exc)])), messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, _("%(n)d people anonymised.") % {"n": done}, messages.SUCCESS)

    def has_anonymise_permission(self, request) -> bool:
        return request.user.is_superuser

    @admin.action(description=_("Unlock sign-in (forget failed sign-ins)"))
    def unlock_sign_in(self, request, queryset):
        from .signin import unlock_sign_in

        try:
            for user in queryset:
                unlock_sign_in(by=request.user, username=user.get_username())
        except PermissionDenied as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        count = queryset.count()
        self.message_user(
            request,
            ngettext("Unlocked sign-in of %(count)d user.", "Unlocked sign-in of %(count)d users.", count)
            % {"count": count},
        )


class InstitutionDomainInline(admin.TabularInline):
    model = InstitutionDomain
    extra = 0


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "province", "city", "join_policy"]
    list_filter = ["kind", "province", "join_policy"]
    search_fields = ["code", "name", "name_zh", "domains__domain"]
    inlines = [InstitutionDomainInline]


@admin.register(JoinRequest)
class JoinRequestAdmin(admin.ModelAdmin):
    """Read only: an institution's administrators decide requests on their people page or the API."""

    list_display = ["user", "institution", "via", "affiliation", "state", "created_at", "decided_at", "decided_by"]
    list_filter = ["state", "via", "institution"]
    search_fields = ["user__username", "user__email", "institution__code"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CompanyRegistration)
class CompanyRegistrationAdmin(admin.ModelAdmin):
    """Platform administrators approve or decline companies that registered (docs/identity.md)."""

    list_display = ["company_name", "credit_code", "user", "province", "state", "created_at", "decided_at"]
    list_filter = ["state", "province"]
    search_fields = ["company_name", "credit_code", "user__username", "user__email"]
    readonly_fields = [
        "user",
        "company_name",
        "credit_code",
        "province",
        "state",
        "created_at",
        "decided_at",
        "decided_by",
        "decline_reason",
        "institution",
    ]
    actions = ["approve", "decline"]

    def has_add_permission(self, request) -> bool:
        return False

    def _decide(self, request, queryset, decide, done_message) -> None:
        done = 0
        for registration in queryset:
            try:
                decide(actor=request.user, registration=registration)
            except (PermissionDenied, ValidationError) as exc:
                self.message_user(
                    request,
                    f"{registration.company_name}: " + " ".join(getattr(exc, "messages", [str(exc)])),
                    messages.ERROR,
                )
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Approve the selected companies (they may book)"), permissions=["decide"])
    def approve(self, request, queryset):
        self._decide(request, queryset, company_approve, _("%(n)d companies approved."))

    @admin.action(description=_("Decline the selected companies"), permissions=["decide"])
    def decline(self, request, queryset):
        self._decide(request, queryset, company_decline, _("%(n)d companies declined."))

    def has_decide_permission(self, request) -> bool:
        return request.user.is_superuser


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "institution", "role"]
    list_filter = ["role", "institution"]
    filter_horizontal = ["facilities"]


@admin.register(FundingAccount)
class FundingAccountAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "title",
        "institution",
        "principal_investigator",
        "valid_from",
        "valid_until",
        "budget_cap",
        "active",
    ]
    list_filter = ["institution", "active", "kind"]
    search_fields = ["code", "title"]
    filter_horizontal = ["members"]


class InstrumentInline(admin.TabularInline):
    model = Instrument
    extra = 0
    fields = [
        "code",
        "name",
        "category",
        "booking_unit_minutes",
        "min_minutes",
        "max_minutes",
        "requires_approval",
        "active",
    ]
    show_change_link = True


class OperatingHoursInline(admin.TabularInline):
    model = OperatingHours
    extra = 0


@admin.register(Facility)
class FacilityAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "province", "city", "category", "status"]
    list_filter = ["province", "category", "status"]
    search_fields = ["code", "name", "name_zh"]
    inlines = [InstrumentInline, OperatingHoursInline]


class RateCardInline(admin.TabularInline):
    model = RateCard
    extra = 0


class TimeShareInline(admin.TabularInline):
    model = TimeShare
    extra = 0


class RegistrationInline(admin.StackedInline):
    """The national platform's fields (docs/sharing-reports.md)."""

    model = InstrumentRegistration
    extra = 0
    max_num = 1


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "facility", "category", "booking_unit_minutes", "requires_approval", "active"]
    list_filter = ["facility", "category", "requires_approval", "active"]
    search_fields = ["code", "name", "name_zh", "keywords", "keywords_zh"]
    readonly_fields = ["availability_version"]
    inlines = [RateCardInline, TimeShareInline, RegistrationInline]


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    list_display = ["facility", "instrument", "kind", "start", "end", "reason"]
    list_filter = ["kind", "facility"]

    def save_model(self, request, obj, form, change):
        # Closures change availability: go through the service so versions rise, clients hear of it and
        # the held bookings it covers are flagged.
        from .services import announce_calendar_change, bump_versions

        super().save_model(request, obj, form, change)
        ids = [obj.instrument_id] if obj.instrument_id else list(obj.facility.instruments.values_list("pk", flat=True))
        bump_versions(instrument_ids=ids, reason="closure_changed")
        announce_calendar_change(instrument_ids=ids, start=obj.start, end=obj.end, reason="closure_changed")


@admin.register(OperatingHours)
class OperatingHoursAdmin(admin.ModelAdmin):
    list_display = ["facility", "instrument", "weekday", "opens", "closes"]
    list_filter = ["facility"]

    def save_model(self, request, obj, form, change):
        # Opening hours change availability just as closures do: raise the versions so cached answers
        # and live clients are brought up to date, and flag the held bookings now outside the hours.
        from .services import operating_hours_changed

        super().save_model(request, obj, form, change)
        operating_hours_changed(facility=obj.facility, instrument=obj.instrument)

    def delete_model(self, request, obj):
        from .services import operating_hours_changed

        facility, instrument = obj.facility, obj.instrument
        super().delete_model(request, obj)
        operating_hours_changed(facility=facility, instrument=instrument)

    def delete_queryset(self, request, queryset):
        from .services import operating_hours_changed

        touched = {(h.facility, h.instrument) for h in queryset.select_related("facility", "instrument")}
        super().delete_queryset(request, queryset)
        for facility, instrument in touched:
            operating_hours_changed(facility=facility, instrument=instrument)


@admin.register(Qualification)
class QualificationAdmin(admin.ModelAdmin):
    list_display = ["user", "instrument", "granted_by", "granted_at", "revoked_at"]
    list_filter = ["instrument__facility"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Platform administrators see and revoke tokens; nobody makes one here (its key is shown only to its
    owner, once)."""

    list_display = [
        "name",
        "user",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "revoked_because",
    ]
    list_filter = ["revoked_because"]
    search_fields = ["user__username", "name", "prefix"]
    readonly_fields = [f.name for f in ApiToken._meta.fields if f.name != "id"]
    exclude = ["digest"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return [f for f in self.readonly_fields if f != "digest"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoked tokens stay, for the record

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_module_permission(self, request):
        return request.user.is_superuser

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        from .credentials import revoke_token

        if not request.user.is_superuser:
            raise PermissionDenied
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            revoke_token(by=request.user, token_id=token.pk)
            count += 1
        self.message_user(
            request,
            ngettext("Revoked %(count)d token.", "Revoked %(count)d tokens.", count) % {"count": count},
        )


class HolidayDayInline(admin.TabularInline):
    model = HolidayDay
    extra = 0
    fields = ["date", "kind", "festival"]
    readonly_fields = ["date", "kind", "festival"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # a year's days change only as a whole, through the import (so bookings are checked)


class HolidayImportForm(forms.Form):
    text = forms.CharField(
        label=_("Schedule"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 16, "cols": 60}),
        help_text=_("One day per line: 2027-01-01,holiday,new_year — or 2027-02-07,workday,spring_festival."),
    )
    file = forms.FileField(label=_("or a file"), required=False)
    notice = forms.CharField(label=_("Notice"), max_length=300, required=False)

    def clean(self):
        data = super().clean() or {}
        upload = data.get("file")
        if upload is not None:
            if upload.size > 64 * 1024:
                raise ValidationError(_("The file is too large for a year's schedule."))
            try:
                data["text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ValidationError(_("The file must be UTF-8 text.")) from None
        if not (data.get("text") or "").strip():
            raise ValidationError(_("Paste the schedule or choose a file."))
        return data


@admin.register(HolidaySchedule)
class HolidayScheduleAdmin(admin.ModelAdmin):
    """A year's public holidays. New and corrected years come in through the import page, as a whole,
    so that every office-calendar instrument and every held booking is brought up to date."""

    list_display = ["year", "source", "notice", "entered_by", "updated_at"]
    readonly_fields = ["year", "source", "notice", "entered_by", "updated_at"]
    inlines = [HolidayDayInline]
    change_list_template = "admin/facilities/holidayschedule/change_list.html"

    def has_add_permission(self, request):
        return False  # the import page adds years

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        from .services import holiday_schedule_remove

        holiday_schedule_remove(actor=request.user, year=obj.year)

    def delete_queryset(self, request, queryset):
        from .services import holiday_schedule_remove

        for year in list(queryset.values_list("year", flat=True)):
            holiday_schedule_remove(actor=request.user, year=year)

    def get_urls(self):
        extra = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="facilities_holidayschedule_import",
            )
        ]
        return extra + super().get_urls()

    def import_view(self, request):
        from .holidays import parse_schedule
        from .services import holiday_schedule_set

        if not request.user.is_superuser:
            raise PermissionDenied
        form = HolidayImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                year, days = parse_schedule(form.cleaned_data["text"])
                holiday_schedule_set(actor=request.user, year=year, days=days, notice=form.cleaned_data["notice"])
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                done = _("The %(year)s schedule is in force: %(n)d days.") % {"year": year, "n": len(days)}
                messages.success(request, done)
                return redirect(reverse("admin:facilities_holidayschedule_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": _("Import a year's public holidays"),
        }
        return TemplateResponse(request, "admin/facilities/holidayschedule/import.html", context)
