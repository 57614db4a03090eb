"""Hours used for a booking: the one place that says where recorded use comes from.

Today that is a completed booking's `actual_start`/`actual_end` where the manager recorded them, else its
booked times. Every figure of used time (the sharing report's used, host and shared hours, outside users
served, the service records for the national and provincial platforms) reads it through
`with_used_span` and `used_in`, so when use is recorded from the instrument itself only this module
changes."""

from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce

from booking.models import Booking

from .periods import Period

USED_STATUS = Booking.Status.COMPLETED  # only completed bookings were used
USED_START = "used_start"
USED_END = "used_end"


def with_used_span(bookings: QuerySet[Booking]) -> QuerySet[Booking]:
    """The bookings annotated with the span they were used, `used_start` to `used_end` (half-open)."""
    return bookings.annotate(**{USED_START: Coalesce("actual_start", "start"), USED_END: Coalesce("actual_end", "end")})


def used_in(period: Period) -> Q:
    """Of bookings annotated by `with_used_span`: those used for some time within the period (only
    completed bookings were used; a no-show or a cancellation is not use)."""
    return Q(
        status=USED_STATUS,
        **{f"{USED_START}__lt": period.end, f"{USED_END}__gt": period.start},
    )
