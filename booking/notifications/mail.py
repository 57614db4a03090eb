"""One outgoing message, rendered in the recipient's language, optionally carrying an invitation.

Templates live in booking/templates/booking/email/<language>/<kind>.txt: the first line is the
subject, the rest (after one blank line) the plain-text body. The HTML alternative wraps that body
in <language>/base.html, so each message is written once per language.
"""

import datetime as dt
from email.mime.text import MIMEText

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation

from facilities.models import User

SUPPORTED_LANGUAGES = ("en", "zh-hans")


def language_of(user: User) -> str:
    return user.language if user.language in SUPPORTED_LANGUAGES else "en"


def render(kind: str, language: str, context: dict) -> tuple[str, str, str]:
    """(subject, text body, html body) of `kind` in `language`."""
    with translation.override(language):
        text = render_to_string(f"booking/email/{language}/{kind}.txt", context)
        subject, _, body = text.strip().partition("\n")
        body = body.strip() + "\n"
        html = render_to_string(f"booking/email/{language}/base.html", {**context, "body": body, "subject": subject})
    return " ".join(subject.split()), body, html


def calendar_part(ics: bytes, method: str) -> MIMEText:
    """text/calendar; method=…: what mail clients (Outlook, Apple Mail, Gmail) offer to add to a calendar."""
    part = MIMEText(ics.decode("utf-8"), "calendar", "utf-8")
    part.set_param("method", method)
    part.add_header("Content-Disposition", "attachment", filename="invite.ics" if method == "REQUEST" else "cancel.ics")
    return part


def build_message(
    *, recipient: User, kind: str, context: dict, ics: bytes | None = None, method: str | None = None
) -> EmailMultiAlternatives:
    language = language_of(recipient)
    subject, body, html = render(kind, language, {**context, "recipient": recipient, "site_url": site_url()})
    message = EmailMultiAlternatives(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email],
        headers={"Auto-Submitted": "auto-generated", "Content-Language": language},
    )
    message.attach_alternative(html, "text/html")
    if ics is not None and method:
        message.attach(calendar_part(ics, method))
    return message


def site_url() -> str:
    return settings.SITE_URL.rstrip("/")


def span_text(start: dt.datetime, end: dt.datetime) -> str:
    """ "2026-11-26 09:00–11:00 (UTC+08:00)", or with both dates when it crosses midnight."""
    s, e = timezone.localtime(start), timezone.localtime(end)
    offset = s.strftime("%z")
    zone = f"UTC{offset[:3]}:{offset[3:]}"
    if s.date() == e.date():
        return f"{s:%Y-%m-%d %H:%M}–{e:%H:%M} ({zone})"
    return f"{s:%Y-%m-%d %H:%M} – {e:%Y-%m-%d %H:%M} ({zone})"


def booking_page_url(booking_id: int, audience: str) -> str:
    """The page a person opens for a booking: `audience` is "requester" or "manager"."""
    return site_url() + settings.BOOKING_PAGE_URLS[audience].format(id=booking_id)
