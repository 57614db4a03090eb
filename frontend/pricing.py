"""Which published rate applies to a researcher at an instrument."""

from decimal import Decimal

from facilities.models import Institution, Instrument, RateCard
from facilities.models.catalog import UserClass


def user_class(institution: Institution | None, instrument: Instrument) -> str:
    if institution is None:
        return UserClass.EXTERNAL_ACADEMIC
    if institution.pk == instrument.facility.host_id:
        return UserClass.INTERNAL
    if institution.kind == Institution.Kind.COMPANY:
        return UserClass.INDUSTRY
    return UserClass.EXTERNAL_ACADEMIC


def hourly_rate(instrument: Instrument, klass: str) -> Decimal | None:
    return RateCard.objects.filter(instrument=instrument, user_class=klass).values_list("hourly_rate", flat=True).first()
