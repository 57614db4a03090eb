from .bookings import Booking, BookingBundle, BookingEvent, BookingSeries, BookingSplit, IdempotencyRecord
from .notifications import NotificationLog, NotificationPreference
from .waitlist import WaitlistEntry

__all__ = [
    "Booking",
    "BookingBundle",
    "BookingEvent",
    "BookingSeries",
    "BookingSplit",
    "IdempotencyRecord",
    "NotificationLog",
    "NotificationPreference",
    "WaitlistEntry",
]
