"""Mail the platform sent, kept where a person can read it: the embedded default's mail backend
(outbox/backends.py) writes every message here instead of printing it into the server's console."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True, db_index=True)
    from_email = models.CharField(_("from"), max_length=320)
    to = models.TextField(_("to"))  # the recipients, one per line (to, cc and bcc alike)
    subject = models.CharField(_("subject"), max_length=998)
    body = models.TextField(_("body"))
    html = models.TextField(_("HTML body"), blank=True)
    # [{"filename", "content_type", "content"}]: calendar invitations (.ics) and any other text attachment;
    # a binary attachment keeps its name and type, and its size in place of the content.
    attachments = models.JSONField(_("attachments"), default=list)

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("sent message")
        verbose_name_plural = _("sent messages (outbox)")

    def __str__(self) -> str:
        return self.subject

    @property
    def invitations(self) -> list[dict]:
        return [a for a in self.attachments if a.get("content_type", "").startswith("text/calendar")]
