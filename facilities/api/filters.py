"""Query-parameter checks shared by list endpoints: an unknown value is a 400 naming what is allowed."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def choice_param(request, name: str, choices) -> str:
    value = request.query_params.get(name, "").strip()
    if not value:
        return ""
    allowed = [c for c, _ in choices]
    if value not in allowed:
        raise ValidationError(
            {
                name: _("Unknown %(name)s %(value)s; allowed values are: %(value2)s.")
                % {"name": name, "value": repr(value[:60]), "value2": ", ".join(allowed)}
            }
        )
    return value


def text_param(request, name: str, max_length: int = 100) -> str:
    value = request.query_params.get(name, "").strip()
    if len(value) > max_length:
        raise ValidationError(
            {
                name: _("%(name)s may be at most %(max_length)s characters long.")
                % {"name": name, "max_length": max_length}
            }
        )
    return value
