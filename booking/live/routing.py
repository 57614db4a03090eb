from django.urls import path

from .consumers import AvailabilityConsumer, MyBookingsConsumer, QueueConsumer

# Channels' URLRouter takes Django's path() with ASGI applications, which django-stubs types as views.
websocket_urlpatterns: list = [
    path("ws/availability/", AvailabilityConsumer.as_asgi()),  # type: ignore[arg-type]
    path("ws/queue/", QueueConsumer.as_asgi()),  # type: ignore[arg-type]
    path("ws/me/", MyBookingsConsumer.as_asgi()),  # type: ignore[arg-type]
]
