"""WebSocket routes of every app, wired together here."""

from booking.live.routing import websocket_urlpatterns as booking_live

websocket_urlpatterns: list = [*booking_live]
