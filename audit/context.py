"""Where a change comes from: the request being served (web page, admin, API) or the background (a Celery
task, a management command, a shell: the actor "system").

django-auditlog's middleware reads the signed-in user when the request arrives; the API authenticates a
token inside the view, later. So the request itself is kept here, and the user is read from it when an
entry is written: by then DRF has put the authenticated user on the underlying request too."""

from contextvars import ContextVar

from auditlog.middleware import AuditlogMiddleware
from django.http import HttpRequest

current_request: ContextVar[HttpRequest | None] = ContextVar("audit_current_request", default=None)
current_task: ContextVar[str | None] = ContextVar("audit_current_task", default=None)


class AuditMiddleware(AuditlogMiddleware):
    """django-auditlog's middleware (actor of session requests, remote address, correlation id), plus the
    request for entries written after the API authenticated."""

    def __call__(self, request):
        token = current_request.set(request)
        try:
            return super().__call__(request)
        finally:
            current_request.reset(token)


def via(request: HttpRequest | None) -> str:
    if request is None:
        return "task" if current_task.get() else "system"
    path = request.path_info or ""
    if path.startswith("/admin/"):
        return "admin"
    if path.startswith("/api/"):
        return "api"
    return "web"
