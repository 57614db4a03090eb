"""What the audit trail needs from every app, without any app importing the `audit` app.

- `attributed_to`: an audited model's `get_additional_data` (django-auditlog's hook) names the institutions
  whose trail a change belongs to, so that their administrators read it.
- `records_actor`: a service that takes `actor=` records that person as the author of the changes it makes,
  also when it runs outside a request (a task, a command, a test). Without it, the entry's author is the
  signed-in user of the request, or "system"."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_acting: ContextVar[Any] = ContextVar("audit_acting_as", default=None)


def own_fields(model: Any, *, exclude: tuple[str, ...] = ()) -> list[str]:
    """The fields an audited model records: its own columns, without its id. (django-auditlog would also
    list the reverse relations other models declare, as noise like "booking.BookingSplit.None".)"""
    return [f.name for f in model._meta.local_fields if f.name != "id" and f.name not in exclude]


def attributed_to(*institution_ids: int | None) -> dict:
    return {"institutions": sorted({pk for pk in institution_ids if pk})}


@contextmanager
def acting_as(user: Any) -> Iterator[None]:
    token = _acting.set(user)
    try:
        yield
    finally:
        _acting.reset(token)


def acting_user() -> Any:
    """The person a service said it acts for, or None."""
    return _acting.get()


def records_actor(service: Callable[P, R]) -> Callable[P, R]:
    @wraps(service)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        actor = kwargs.get("actor")
        if actor is None or not getattr(actor, "is_authenticated", False):
            return service(*args, **kwargs)
        with acting_as(actor):
            return service(*args, **kwargs)

    return wrapper
