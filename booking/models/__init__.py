from .bookings import Booking, BookingBundle, BookingEvent, BookingSeries, BookingSplit, IdempotencyRecord
from .waitlist import WaitlistEntry

__all__ = [
    "Booking",
    "BookingBundle",
    "BookingEvent",
    "BookingSeries",
    "BookingSplit",
    "IdempotencyRecord",
    "WaitlistEntry",
]
