import datetime as dt
from decimal import Decimal

import factory

from billing.models import ChargePolicy, HostSubsidy, InnovationVoucher, VoucherScheme
from facilities.models import Institution

from .facilities import FacilityFactory, InstitutionFactory, InstrumentFactory


class ChargePolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChargePolicy
        django_get_or_create = ("instrument",)

    instrument = factory.SubFactory(InstrumentFactory)


class AgencyFactory(InstitutionFactory):
    code = factory.Sequence(lambda n: f"AGENCY{n}")
    kind = Institution.Kind.AGENCY


class HostSubsidyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HostSubsidy

    facility = factory.SubFactory(FacilityFactory)
    partner = factory.SubFactory(InstitutionFactory)
    percent = Decimal("20")
    valid_from = dt.date(2020, 1, 1)
    valid_until = dt.date(2099, 12, 31)


class InnovationVoucherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InnovationVoucher

    code = factory.Sequence(lambda n: f"V-{n:04d}")
    agency = factory.SubFactory(AgencyFactory)
    holder = factory.SubFactory(InstitutionFactory)
    percent = Decimal("50")
    cap = Decimal("1000.00")
    balance = factory.LazyAttribute(lambda o: o.cap)
    valid_from = dt.date(2020, 1, 1)
    valid_until = dt.date(2099, 12, 31)


def book(*, requester, instrument, start: dt.datetime, hours: int = 2, splits=None):
    """A booking made a day before `start` (so any past start passes the booking rules), then approved
    by the system if the instrument needs approval."""
    from booking.services import booking_approve, booking_request

    booking = booking_request(
        requester=requester,
        instrument=instrument,
        start=start,
        end=start + dt.timedelta(hours=hours),
        splits=splits,
        now=start - dt.timedelta(days=1),
    )
    if booking.status == "requested":
        booking = booking_approve(actor=None, booking_id=booking.pk)
    return booking


def complete(booking, *, actual_start=None, actual_end=None):
    from booking.services import booking_complete

    return booking_complete(
        actor=None,
        booking_id=booking.pk,
        actual_start=actual_start,
        actual_end=actual_end,
        now=booking.end + dt.timedelta(hours=1),
    )


class VoucherSchemeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VoucherScheme

    code = factory.Sequence(lambda n: f"scheme-{n}")
    agency = factory.SubFactory(AgencyFactory)
    name = factory.LazyAttribute(lambda o: f"Vouchers of {o.agency.code}")
    mode = "tongdui"
    percent = Decimal("50")
    cap_per_company_year = Decimal("100000.00")
    provinces = factory.LazyFunction(list)
    valid_from = dt.date(2020, 1, 1)
    valid_until = dt.date(2099, 12, 31)


def scheme_voucher(scheme: VoucherScheme, holder, **kwargs) -> InnovationVoucher:
    """A voucher of the scheme: its agency, at most its rate."""
    kwargs.setdefault("percent", scheme.percent)
    return InnovationVoucherFactory(scheme=scheme, agency=scheme.agency, holder=holder, **kwargs)
