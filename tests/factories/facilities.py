import datetime as dt
from decimal import Decimal

import factory

from facilities.models import Facility, FundingAccount, Institution, Instrument, Membership, RateCard, User
from facilities.models.tenants import Role


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"INST{n}")
    name = factory.LazyAttribute(lambda o: f"Institution {o.code}")
    kind = Institution.Kind.UNIVERSITY
    province = "anhui"
    city = "Hefei"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.django.Password("pw-123456")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    institution = factory.SubFactory(InstitutionFactory)
    role = Role.RESEARCHER


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"FAC{n}")
    name = factory.LazyAttribute(lambda o: f"Facility {o.code}")
    province = "shanghai"
    city = "Shanghai"
    host = factory.SubFactory(InstitutionFactory)
    category = "light_source"
    status = Facility.Status.OPERATING


class InstrumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instrument

    facility = factory.SubFactory(FacilityFactory)
    code = factory.Sequence(lambda n: f"I{n}")
    name = factory.LazyAttribute(lambda o: f"Instrument {o.code}")
    category = Instrument.Category.BEAMLINE
    booking_unit_minutes = 60
    min_minutes = 60
    max_minutes = 1440
    lead_time_minutes = 0
    horizon_days = 365
    buffer_minutes = 0
    requires_approval = False


class RateCardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RateCard

    instrument = factory.SubFactory(InstrumentFactory)
    user_class = "internal"
    hourly_rate = Decimal("100.00")


class FundingAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FundingAccount

    code = factory.Sequence(lambda n: f"ACC-{n}")
    title = factory.LazyAttribute(lambda o: f"Grant {o.code}")
    institution = factory.SubFactory(InstitutionFactory)
    principal_investigator = factory.SubFactory(UserFactory)
    valid_from = dt.date(2020, 1, 1)
    valid_until = dt.date(2099, 12, 31)


def member(user: User, institution: Institution, role: str, facilities=()) -> Membership:
    m, _ = Membership.objects.get_or_create(user=user, institution=institution, role=role)
    if facilities:
        m.facilities.add(*facilities)
    return m
