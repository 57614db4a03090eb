"""WebSocket routes of every app, wired together here."""

websocket_urlpatterns: list = []
