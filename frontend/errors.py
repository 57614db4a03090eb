"""Turning what services raise into words on the page, next to the field they concern."""

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _

from common.errors import Conflict

from .templatetags.sanjiao import local


def messages_of(exc: Exception) -> list[tuple[str | None, str]]:
    """(field or None, message) pairs for a service refusal."""
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return [(field, msg) for field, errs in exc.message_dict.items() for msg in errs]
        return [(None, msg) for msg in exc.messages]
    if isinstance(exc, Conflict):
        text = exc.detail
        conflicts = exc.extra.get("conflicts") or []
        if conflicts:
            spans = "; ".join(f"{c['start'][:16].replace('T', ' ')}–{c['end'][11:16]}" for c in conflicts[:5])
            text = f"{text} " + _("Held: %(spans)s.") % {"spans": spans}
        parts = exc.extra.get("occurrences") or exc.extra.get("items") or []
        for part in parts[:20]:
            n = part.get("occurrence") or part.get("item")
            text += " " + _("#%(n)s (%(when)s): %(detail)s") % {
                "n": n,
                "when": part.get("start", "")[:16].replace("T", " "),
                "detail": part.get("detail", ""),
            }
        return [(None, text)]
    if isinstance(exc, PermissionDenied):
        return [(None, str(exc) or _("You may not do this."))]
    if isinstance(exc, Http404):
        return [(None, str(exc) or _("Not found, or you may not see it."))]
    raise exc


def attach(form: forms.BaseForm, exc: Exception) -> None:
    """Put a service's refusal on the form: on the field it names when the form has it, else on top."""
    for field, msg in messages_of(exc):
        form.add_error(field if field in form.fields else None, msg)


REFUSALS = (ValidationError, Conflict, PermissionDenied, Http404)

__all__ = ["REFUSALS", "attach", "messages_of", "local"]
