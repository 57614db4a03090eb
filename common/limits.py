"""The one limit on what a client may send in a request body: Django's DATA_UPLOAD_MAX_MEMORY_SIZE
(set from the environment in config/settings.py).

The middleware answers before anything reads the body. It must come first in MIDDLEWARE and the
request must reach Django through its WSGI handler (gunicorn, or `make run`'s server, which hands each
request to that handler in a thread): there the body is read only when a view asks for it. Django's
ASGI handler would read the whole body into a temporary file before any middleware runs."""

import re
from functools import lru_cache

from django.conf import settings
from django.http import JsonResponse


def refusal(status: int, detail: str) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=status)
    response["Content-Length"] = str(len(response.content))
    # The body was not read: the client should stop sending it, and the connection is not reused.
    response["Connection"] = "close"
    return response


def too_large(length: int, limit: int) -> JsonResponse:
    return refusal(
        413,
        f"The request body is too large: {length} bytes, and at most {limit} bytes ({limit // 1024} KB) are accepted.",
    )


def length_required() -> JsonResponse:
    return refusal(
        411,
        "A request body must be sent with a Content-Length header; "
        "bodies sent in chunks without a length are not accepted.",
    )


@lru_cache(maxsize=8)
def _compiled(limits: tuple[tuple[str, int], ...]) -> list[tuple[re.Pattern[str], int]]:
    return [(re.compile(pattern), limit) for pattern, limit in limits]


def limit_for(path: str) -> int | None:
    """DATA_UPLOAD_MAX_MEMORY_SIZE, or a larger limit for the few upload paths named in UPLOAD_LIMITS
    (`[(regex, bytes)]`, e.g. bank statements and fapiao files)."""
    for pattern, limit in _compiled(tuple(tuple(x) for x in getattr(settings, "UPLOAD_LIMITS", ()))):
        if pattern.match(path):
            return limit
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class RequestBodyLimitMiddleware:
    """413 for a declared length above the limit, 411 for a body without a declared length (chunked):
    Django reads only what Content-Length announces, so such a body could never be read anyway."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = limit_for(request.path_info)
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared.strip():
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0:
                return refusal(400, f"The Content-Length header {declared[:32]!r} is not a number of bytes.")
            if limit is not None and length > limit:
                return too_large(length, limit)
        elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return length_required()
        return self.get_response(request)
