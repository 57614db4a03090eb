"""Django's WSGI handler for ordinary HTTP, as both servings run it: gunicorn in production
(config/wsgi.py) and `make run`'s one server (config/asgi.py). It reads a request body only when a view
asks for it, so a body above the limit is refused unread (common/limits.py), and it costs a fraction of
Django's ASGI handler per request."""

from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application


def wsgi_handler() -> WSGIHandler:
    """Django set up, and its WSGI handler; it serves its own static files unless a proxy in front does
    (SERVE_STATIC=false)."""
    handler = get_wsgi_application()
    return StaticFilesHandler(handler) if settings.SERVE_STATIC else handler
