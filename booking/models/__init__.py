from .bookings import Booking, BookingBundle, BookingEvent, BookingSeries, BookingSplit, IdempotencyRecord
from .flags import CalendarFlag
from .notifications import NotificationLog, NotificationPreference
from .waitlist import WaitlistEntry

__all__ = [
    "Booking",
    "BookingBundle",
    "BookingEvent",
    "BookingSeries",
    "BookingSplit",
    "CalendarFlag",
    "IdempotencyRecord",
    "NotificationLog",
    "NotificationPreference",
    "WaitlistEntry",
]
