"""How many upcoming bookings one person may hold on an instrument."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from facilities.models import Instrument, User

from ..models import Booking


def check_future_limit(*, instrument: Instrument, requester: User, now: dt.datetime, adding: int = 1) -> None:
    """Runs under the instrument's lock, so two requests of one person cannot both take the last place."""
    if instrument.max_future_bookings is None:
        return
    upcoming = Booking.objects.held().filter(instrument=instrument, requester=requester, end__gt=now).count()
    if upcoming + adding > instrument.max_future_bookings:
        raise ValidationError(
            _("Maximum future bookings: you may hold at most %(limit)d upcoming bookings of %(code)s; you hold %(n)d.")
            % {"limit": instrument.max_future_bookings, "code": instrument.code, "n": upcoming}
        )
