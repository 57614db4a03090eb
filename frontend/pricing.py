"""Which published rate applies to a researcher at an instrument: billing's rule, read for the form."""

from decimal import Decimal

from billing.services.rates import published_rate, user_class_for
from facilities.models import Institution, Instrument
from facilities.models.catalog import UserClass


def user_class(institution: Institution | None, instrument: Instrument) -> str:
    if institution is None:
        return UserClass.EXTERNAL_ACADEMIC
    return user_class_for(institution=institution, facility=instrument.facility)


def hourly_rate(instrument: Instrument, klass: str) -> Decimal | None:
    return published_rate(instrument_id=instrument.pk, user_class=klass)
