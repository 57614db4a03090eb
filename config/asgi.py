"""ASGI entry point: WebSockets, and under `make run` ordinary HTTP too, on one port.

HTTP goes to Django's WSGI handler (config/http.py) through a2wsgi, one hop into a small thread pool per
request. Django's own ASGI handler would instead read the whole body first and then make about twenty
hops per request, each into a thread of its own per request, so under load dozens of threads compete
for the GIL and SQLite's write lock in no order and some requests wait many times longer than others
(docs/decisions/0001-serving.md). In production a proxy sends only /ws/ here (docs/deploy.md)."""

import asyncio
import os
from typing import cast

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()  # before the imports below, which load models

from a2wsgi import WSGIMiddleware  # noqa: E402
from a2wsgi.wsgi_typing import WSGIApp  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from booking.live.publish import publish_through_loop  # noqa: E402
from common.origin import SameOriginValidator  # noqa: E402

from .http import wsgi_handler  # noqa: E402
from .routing import websocket_urlpatterns  # noqa: E402

# Requests beyond these wait in the pool's queue, first come first served. A few threads let a slow
# page overlap with others (SQLite and the network release the GIL); many would only compete for the
# GIL and SQLite's one writer again.
HTTP_THREADS = 4


class HTTPThroughWSGI:
    """HTTP to Django's WSGI handler in a2wsgi's thread pool. The pool's threads publish live updates on
    this server's loop, which they tell the publisher about at the first request."""

    def __init__(self) -> None:
        # Django's stubs type a WSGI handler's answer as an HttpResponseBase, which is the iterable of
        # bytes that WSGI asks for.
        self.app = WSGIMiddleware(cast(WSGIApp, wsgi_handler()), workers=HTTP_THREADS)
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope, receive, send) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self.loop:
            publish_through_loop(loop)
            self.loop = loop
        await self.app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": HTTPThroughWSGI(),
        # The Origin must be the socket's own (scheme, host, port) or a trusted one (common/origin.py).
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
