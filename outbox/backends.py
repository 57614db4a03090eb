"""A mail backend that keeps each message in the outbox (an admin page lists them with their calendar
invitations): the embedded default's EMAIL_BACKEND. Production sets EMAIL_BACKEND to SMTP (README)."""

from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from .models import OutboxMessage


def _attachment(item) -> dict:
    if isinstance(item, tuple) or hasattr(item, "filename"):
        filename, content, mimetype = item
    else:  # a MIMEBase part
        filename = item.get_filename() or ""
        mimetype = item.get_content_type()
        content = item.get_payload(decode=True) or b""
    mimetype = mimetype or "application/octet-stream"
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8")
        except UnicodeDecodeError:
            return {"filename": filename or "", "content_type": mimetype, "content": f"({len(content)} bytes)"}
    return {"filename": filename or "", "content_type": mimetype, "content": str(content)}


class OutboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        rows = []
        for message in email_messages:
            recipients = message.recipients()
            if not recipients:
                continue
            html = ""
            for content, mimetype in getattr(message, "alternatives", []) or []:
                if mimetype == "text/html":
                    html = str(content)
            rows.append(
                OutboxMessage(
                    from_email=str(message.from_email or ""),
                    to="\n".join(recipients),
                    subject=str(message.subject),
                    body=str(message.body),
                    html=html,
                    attachments=[_attachment(a) for a in message.attachments],
                )
            )
        OutboxMessage.objects.bulk_create(rows)
        return len(rows)
