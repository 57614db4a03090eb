"""The error vocabulary that services of every app raise, and adapters (API, pages, consumers) translate.

Services raise `django.core.exceptions.ValidationError` for input that breaks a rule (400 with the
rule in words), `django.core.exceptions.PermissionDenied` (403), `django.http.Http404` (404), and
`Conflict` for a request that is well-formed but clashes with the current state (409).
"""

from typing import Any


class Conflict(Exception):
    """The request is valid but the current state forbids it (a held slot, an illegal transition)."""

    def __init__(self, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.detail, **self.extra}
