"""Where a change comes from: the request being served (web page, admin, API) or the background (a Celery
task, a management command, a shell: the actor "system").

django-auditlog's middleware reads the signed-in user when the request arrives; the API authenticates a
token inside the view, later. So the request itself is kept here, and the user is read from it when an
entry is written: by then DRF has put the authenticated user on the underlying request too."""

import ipaddress
from contextvars import ContextVar

from auditlog.middleware import AuditlogMiddleware
from django.http import HttpRequest

current_request: ContextVar[HttpRequest | None] = ContextVar("audit_current_request", default=None)
current_task: ContextVar[str | None] = ContextVar("audit_current_task", default=None)


class AuditMiddleware(AuditlogMiddleware):
    """django-auditlog's middleware (actor of session requests, remote address, correlation id), plus the
    request for entries written after the API authenticated."""

    def get_extra_data(self, request):
        data = super().get_extra_data(request)
        data["remote_addr"] = client_address(request)
        return data

    def __call__(self, request):
        token = current_request.set(request)
        try:
            return super().__call__(request)
        finally:
            current_request.reset(token)


def client_address(request: HttpRequest) -> str | None:
    """The address the one proxy in front saw (docs/deploy.md: nginx appends it to X-Forwarded-For, so the
    last entry is the only one a client cannot forge), else the socket's. Not an IP address: None — the
    column is PostgreSQL's inet, and what a client sends must never turn a change into an error."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    candidate = forwarded.rsplit(",", 1)[-1].strip() if forwarded else request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def via(request: HttpRequest | None) -> str:
    if request is None:
        return "task" if current_task.get() else "system"
    path = request.path_info or ""
    if path.startswith("/admin/"):
        return "admin"
    if path.startswith("/api/"):
        return "api"
    return "web"
