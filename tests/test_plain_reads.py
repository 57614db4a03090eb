"""The plain-SQL reads of the booking path answer what the ORM queries they stand for answer: the same
rows, the same field values and types (SQLite hands back text and numbers the ORM converts), the same
related objects already attached, and objects marked as loaded."""

import datetime as dt
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from facilities.models import FundingAccount, Institution, Instrument, Membership
from facilities.models.tenants import Role
from facilities.plain_reads import chargeable_accounts, instrument_with_host, researcher_institution
from facilities.selectors import accounts_chargeable_by

from .factories.facilities import FundingAccountFactory, InstitutionFactory, InstrumentFactory, UserFactory, member

pytestmark = pytest.mark.django_db


def values(obj) -> dict:
    """Every concrete field's value and type, as loaded."""
    return {f.attname: (getattr(obj, f.attname), type(getattr(obj, f.attname))) for f in obj._meta.concrete_fields}


def test_instrument_with_host_is_the_select_related_read(world, django_assert_num_queries):
    instrument = InstrumentFactory(
        facility=world.facility, code="CRYO", buffer_minutes=15, requires_approval=True, max_future_bookings=3,
        description="长 description ✓",
    )
    orm = Instrument.objects.select_related("facility", "facility__host").get(pk=instrument.pk)
    with django_assert_num_queries(1):
        plain = instrument_with_host(instrument.pk)
        # the related objects come with it, as select_related leaves them
        assert values(plain.facility) == values(orm.facility)
        assert values(plain.facility.host) == values(orm.facility.host)
    assert values(plain) == values(orm)
    assert plain == orm and plain.facility == orm.facility
    assert plain._state.adding is False and plain._state.db == "default"


def test_instrument_with_host_of_an_unknown_id_is_none(world):
    assert instrument_with_host(world.instrument.pk + 1000) is None


def test_a_loaded_instrument_saves_like_an_orm_one(world):
    plain = instrument_with_host(world.instrument.pk)
    plain.max_minutes = 600
    plain.save(update_fields=["max_minutes"])
    assert Instrument.objects.get(pk=world.instrument.pk).max_minutes == 600


def test_researcher_institution_is_the_first_researcher_membership(world):
    assert researcher_institution(world.researcher.pk) == world.ustc
    assert values(researcher_institution(world.researcher.pk)) == values(Institution.objects.get(pk=world.ustc.pk))
    # a finance or manager role is not a researcher's
    assert researcher_institution(world.finance.pk) is None
    assert researcher_institution(world.manager.pk) is None
    # with two researcher memberships the earlier one counts, as in the ORM query
    member(world.researcher, world.zju, Role.RESEARCHER)
    first = Membership.objects.filter(user=world.researcher, role=Role.RESEARCHER).order_by("id").first()
    assert researcher_institution(world.researcher.pk) == first.institution == world.ustc


def test_chargeable_accounts_are_those_led_or_named_on(world):
    researcher = world.researcher
    named = FundingAccountFactory(institution=world.zju, budget_cap=Decimal("1234.56"), valid_until=dt.date(2030, 6, 30))
    named.members.add(researcher)
    led_and_named = FundingAccountFactory(institution=world.ustc, principal_investigator=researcher, active=False)
    led_and_named.members.add(researcher, world.outsider)  # named as well as leading: listed once
    FundingAccountFactory(institution=world.ustc)  # someone else's
    other = UserFactory(username="nobody")

    plain = chargeable_accounts(researcher.pk)
    orm = sorted(accounts_chargeable_by(researcher), key=lambda a: a.pk)
    assert [a.pk for a in plain] == [a.pk for a in orm] == sorted([world.researcher_account.pk, named.pk, led_and_named.pk])
    assert [values(a) for a in plain] == [values(a) for a in orm]
    assert [model_to_dict(a, exclude=["members"]) for a in plain] == [model_to_dict(a, exclude=["members"]) for a in orm]
    assert type(plain[1].budget_cap) is Decimal and type(plain[1].valid_until) is dt.date
    assert chargeable_accounts(other.pk) == []


def test_plain_reads_follow_changes_at_once(world):
    """No caching: a changed row is read as it now is."""
    FundingAccount.objects.filter(pk=world.researcher_account.pk).update(active=False)
    assert chargeable_accounts(world.researcher.pk)[0].active is False
    Instrument.objects.filter(pk=world.instrument.pk).update(buffer_minutes=30)
    assert instrument_with_host(world.instrument.pk).buffer_minutes == 30
    InstitutionFactory(code="NEW")
    Institution.objects.filter(pk=world.ustc.pk).update(name="renamed")
    assert researcher_institution(world.researcher.pk).name == "renamed"
