from .availability import AvailabilityConsumer
from .bookings import MyBookingsConsumer, QueueConsumer

__all__ = ["AvailabilityConsumer", "MyBookingsConsumer", "QueueConsumer"]
