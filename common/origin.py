"""The Origin check of WebSocket handshakes: a browser page may open a socket only to the origin it came
from (scheme, host and port), or to one listed in CSRF_TRUSTED_ORIGINS.

Channels' AllowedHostsOriginValidator compares only the host with ALLOWED_HOSTS, so a page served from
another port of the same machine (`http://127.0.0.1:9999`, `http://localhost:3000`) could open a socket
with the visitor's session cookie. Here the Origin must equal the socket's own origin: `http` for `ws`
and `https` for `wss` (behind a TLS proxy: daphne's `--proxy-headers` with `X-Forwarded-Proto`), the
`Host` the client connected to (which must be one of ALLOWED_HOSTS), and its port, default ports
spelled or not. A handshake without an Origin (no browser sends none) is refused.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}
HTTP_SCHEME = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def _origin(scheme: str, host: str, port: int | None) -> tuple[str, str, int] | None:
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host.lower().rstrip("."), port if port is not None else DEFAULT_PORTS[scheme]


def parse_origin(value: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an Origin header or a configured origin; None for what is not one."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        return None
    return _origin(parts.scheme.lower(), parts.hostname or "", port)


def own_origin(scope) -> tuple[str, str, int] | None:
    """The socket's own origin from its scheme and Host header; None when the Host is not allowed."""
    headers = dict(scope.get("headers") or [])
    host_header = headers.get(b"host", b"").decode("latin-1").strip()
    if not host_header:
        return None
    domain, _port = split_domain_port(host_header)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    return parse_origin(f"{HTTP_SCHEME.get(scope.get('scheme') or 'ws', 'http')}://{host_header}")


def origin_allowed(scope) -> bool:
    headers = dict(scope.get("headers") or [])
    raw = headers.get(b"origin")
    if not raw:
        return False
    origin = parse_origin(raw.decode("latin-1"))
    if origin is None:
        return False
    if origin == own_origin(scope):
        return True
    return origin in {parse_origin(o) for o in settings.CSRF_TRUSTED_ORIGINS}


class SameOriginValidator:
    """ASGI middleware: refuses (403 at the handshake) a WebSocket whose Origin is not its own."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)
