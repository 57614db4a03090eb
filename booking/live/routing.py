from django.urls import path

from .consumers import AvailabilityConsumer, MyBookingsConsumer, QueueConsumer

websocket_urlpatterns: list = [
    path("ws/availability/", AvailabilityConsumer.as_asgi()),
    path("ws/queue/", QueueConsumer.as_asgi()),
    path("ws/me/", MyBookingsConsumer.as_asgi()),
]
