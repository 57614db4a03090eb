"""Query-parameter checks shared by list endpoints: an unknown value is a 400 naming what is allowed."""

from django.core.exceptions import ValidationError


def choice_param(request, name: str, choices) -> str:
    value = request.query_params.get(name, "").strip()
    if not value:
        return ""
    allowed = [c for c, _ in choices]
    if value not in allowed:
        raise ValidationError({name: f"Unknown {name} {value[:60]!r}; allowed values are: {', '.join(allowed)}."})
    return value


def text_param(request, name: str, max_length: int = 100) -> str:
    value = request.query_params.get(name, "").strip()
    if len(value) > max_length:
        raise ValidationError({name: f"{name} may be at most {max_length} characters long."})
    return value
