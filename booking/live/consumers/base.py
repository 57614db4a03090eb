"""What every /ws/ socket shares: limits on what clients send, errors in words, cleanup that runs
however the connection ends (client gone, server error, task cancelled), and the end of a signed-in
socket when its session ends.

A socket opened with a signed-in session joins its person's session group. Signing out (that session),
changing the password or deactivation (every session) sends `live.close` to the group after commit
(booking/live/receivers.py), and the socket says why and closes with 4401 at once; nothing is sent on it
after that. Sockets that deliver personal data also check the session on each message (bookings.py).
"""

import json
import logging
from importlib import import_module
from types import SimpleNamespace

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user
from django.http.cookie import parse_cookie
from django.utils import translation
from django.utils.translation import gettext as _

from ..protocol import ProtocolError, RateLimit, decode
from ..publish import session_group

log = logging.getLogger(__name__)

# Close codes (4000-4999 are the application's): say why a socket was refused.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


def signed_in(scope) -> bool:
    return bool(getattr(scope.get("user"), "is_authenticated", False))


def session_key_of(scope) -> str | None:
    session = scope.get("session")
    return getattr(session, "session_key", None) if session is not None else None


def session_still_signed_in(scope) -> bool:
    """Whether the socket's session still signs its person in, read afresh (on the database thread): not
    signed out, password unchanged (Django's session hash), account active. Django's own check. A scope
    with no session at all was signed in by whoever built it (config/asgi.py always adds sessions)."""
    if not signed_in(scope):
        return False
    if "session" not in scope:
        return True
    key = session_key_of(scope)
    if not key:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    user = get_user(SimpleNamespace(session=store))  # type: ignore[arg-type]
    return bool(user.is_authenticated and user.pk == scope["user"].pk)


def language_of(scope) -> str:
    """The language the socket's person reads, chosen as the pages choose it (LocaleMiddleware): the
    language cookie the site's switcher sets, else the handshake's Accept-Language, else the default."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
    cookies = scope.get("cookies")  # set by channels' CookieMiddleware (config/asgi.py)
    if cookies is None:
        cookies = parse_cookie(headers.get("cookie", ""))
    request = SimpleNamespace(
        COOKIES=cookies,
        META={"HTTP_ACCEPT_LANGUAGE": headers.get("accept-language", "")},
        path_info="/",
    )
    return translation.get_language_from_request(request)  # type: ignore[arg-type]


class LiveSocket(AsyncWebsocketConsumer):
    ended = False

    async def __call__(self, scope, receive, send):
        self.limiter = RateLimit(settings.LIVE_MAX_MESSAGES_PER_SECOND)
        if signed_in(scope) and self.channel_layer_alias is None:
            # A socket with no channel of its own (/ws/availability/) takes one when signed in, to hear
            # that its session ended.
            self.channel_layer_alias = "default"
        try:
            # Every message in words (errors, refusals) is in the person's language.
            with translation.override(language_of(scope)):
                await super().__call__(scope, receive, send)
        finally:
            # Also after an exception or a cancellation, where websocket_disconnect never runs.
            try:
                await self.cleanup()
            except Exception:
                log.exception("Live socket cleanup failed")

    async def cleanup(self) -> None:
        """Leave every group and registry this socket joined; safe to call more than once."""
        layer = getattr(self, "channel_layer", None)
        if layer is not None and getattr(self, "channel_name", None):
            for group in list(self.groups):
                await layer.group_discard(group, self.channel_name)
        self.groups = []

    async def websocket_connect(self, message):
        user = self.scope.get("user")
        if user is not None and signed_in(self.scope) and getattr(self, "channel_name", None):
            group = session_group(user.pk)
            self.groups.append(group)  # recorded first, so cleanup discards it even if the join fails
            await self.channel_layer.group_add(group, self.channel_name)
        await super().websocket_connect(message)

    async def live_close(self, message: dict) -> None:
        """The person's session ended (`session_key`), or all of them (None): say why, close, send no more."""
        key = message.get("session_key")
        if key is not None and key != session_key_of(self.scope):
            return
        await self.end_session(str(message.get("reason") or "signed_out"))

    async def end_session(self, reason: str) -> None:
        if self.ended:
            return
        await self.send_text(json.dumps({"type": "closed", "reason": reason}))
        self.ended = True
        await self.close(code=CLOSE_UNAUTHENTICATED)
        await self.cleanup()

    async def websocket_disconnect(self, message):
        await self.cleanup()
        await super().websocket_disconnect(message)

    async def send_text(self, text: str) -> None:
        if self.ended:
            return  # the session ended: nothing more goes out
        await self.send(text_data=text)

    async def send_error(self, detail: str) -> None:
        await self.send_text(json.dumps({"type": "error", "detail": detail}))

    async def refuse(self, code: int, detail: str) -> None:
        """Accept only to say in words why, then close with `code` (a refused handshake says nothing)."""
        await self.accept()
        await self.send_error(detail)
        await self.close(code=code)
        await self.cleanup()  # leaves the session group it joined on connecting

    async def receive(self, text_data=None, bytes_data=None):
        if self.ended:
            return
        if not self.limiter.allow():
            if self.limiter.should_warn():
                await self.send_error(
                    _(
                        "Too many messages: at most %(live_max_messages_per_second)s a second; "
                        "the extra ones were ignored."
                    )
                    % {"live_max_messages_per_second": settings.LIVE_MAX_MESSAGES_PER_SECOND}
                )
            return
        try:
            content = decode(text_data, bytes_data)
            await self.handle(content)
        except ProtocolError as exc:
            await self.send_error(str(exc))

    async def handle(self, content: dict) -> None:
        raise ProtocolError(_("This socket only sends updates; it takes no messages."))
