"""What every /ws/ socket shares: limits on what clients send, errors in words, and cleanup that runs
however the connection ends (client gone, server error, task cancelled)."""

import json
import logging

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from ..protocol import ProtocolError, RateLimit, decode

log = logging.getLogger(__name__)

# Close codes (4000-4999 are the application's): say why a socket was refused.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class LiveSocket(AsyncWebsocketConsumer):
    async def __call__(self, scope, receive, send):
        self.limiter = RateLimit(settings.LIVE_MAX_MESSAGES_PER_SECOND)
        try:
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

    async def websocket_disconnect(self, message):
        await self.cleanup()
        await super().websocket_disconnect(message)

    async def send_text(self, text: str) -> None:
        await self.send(text_data=text)

    async def send_error(self, detail: str) -> None:
        await self.send_text(json.dumps({"type": "error", "detail": detail}))

    async def refuse(self, code: int, detail: str) -> None:
        """Accept only to say in words why, then close with `code` (a refused handshake says nothing)."""
        await self.accept()
        await self.send_error(detail)
        await self.close(code=code)

    async def receive(self, text_data=None, bytes_data=None):
        if not self.limiter.allow():
            if self.limiter.should_warn():
                await self.send_error(
                    f"Too many messages: at most {settings.LIVE_MAX_MESSAGES_PER_SECOND} a second; "
                    "the extra ones were ignored."
                )
            return
        try:
            content = decode(text_data, bytes_data)
            await self.handle(content)
        except ProtocolError as exc:
            await self.send_error(str(exc))

    async def handle(self, content: dict) -> None:
        raise ProtocolError("This socket only sends updates; it takes no messages.")
