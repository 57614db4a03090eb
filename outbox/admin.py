"""The outbox in the admin: every message the platform sent, newest first, with its calendar invitations."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["sent_at", "subject", "recipients", "invitation_count"]
    search_fields = ["subject", "to", "body"]
    date_hierarchy = "sent_at"
    fields = ["sent_at", "from_email", "to", "subject", "body", "invitation_text"]
    readonly_fields = fields

    @admin.display(description=_("to"))
    def recipients(self, obj: OutboxMessage) -> str:
        return ", ".join(obj.to.splitlines())

    @admin.display(description=_("invitations"))
    def invitation_count(self, obj: OutboxMessage) -> int:
        return len(obj.invitations)

    @admin.display(description=_("attachments"))
    def invitation_text(self, obj: OutboxMessage) -> str:
        if not obj.attachments:
            return "—"
        return format_html_join(
            "",
            "<p><strong>{}</strong> ({})</p><pre>{}</pre>",
            ((a.get("filename"), a.get("content_type"), a.get("content")) for a in obj.attachments),
        ) or format_html("—")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
