"""Bookings written straight to the table, for states the service cannot reach by a request (past
bookings, ones already started). Use booking.services in tests of behaviour; these only set a scene."""

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from booking.models import Booking, BookingSplit

from .facilities import InstitutionFactory, InstrumentFactory, UserFactory


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Booking
        skip_postgeneration_save = True

    instrument = factory.SubFactory(InstrumentFactory)
    requester = factory.SubFactory(UserFactory)
    institution = factory.SubFactory(InstitutionFactory)
    start = factory.LazyFunction(
        lambda: (timezone.localtime() + dt.timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    )
    end = factory.LazyAttribute(lambda o: o.start + dt.timedelta(hours=1))
    hold_end = factory.LazyAttribute(lambda o: o.end + dt.timedelta(minutes=o.instrument.buffer_minutes))
    status = Booking.Status.APPROVED
    purpose = "beam time for a test"

    @factory.post_generation
    def account(obj, create, extracted, **kwargs):
        """`account=<FundingAccount>` pays 100 percent."""
        if create and extracted is not None:
            BookingSplit.objects.create(booking=obj, account=extracted, percent=Decimal("100"))


def started_booking(
    world, *, requester=None, status=Booking.Status.APPROVED, hours_ago: int = 2, account=None
) -> Booking:
    """A booking of the world's instrument that began `hours_ago` hours ago and lasts an hour."""
    requester = requester or world.researcher
    start = (timezone.localtime() - dt.timedelta(hours=hours_ago)).replace(minute=0, second=0, microsecond=0)
    institution = world.ustc if requester == world.researcher else world.zju
    account = account or (world.researcher_account if requester == world.researcher else world.outsider_account)
    return BookingFactory(
        instrument=world.instrument,
        requester=requester,
        institution=institution,
        start=start,
        end=start + dt.timedelta(hours=1),
        status=status,
        account=account,
    )
