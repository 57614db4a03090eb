"""The plain SQL of the booking path does what the ORM calls it stands for do.

Reads: the same rows, the same field values and types (SQLite hands back text and numbers the ORM
converts), the same related objects already attached, and objects marked as loaded. Inserts: the same
row as save() writes, defaults and auto_now_add included, the same signals, the same errors."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_save, pre_save
from django.forms.models import model_to_dict
from django.utils import timezone

from billing.models import RateSnapshot
from booking.models import Booking, BookingEvent, BookingSplit

from facilities.models import FundingAccount, Institution, Instrument, Membership
from facilities.models.tenants import Role
from facilities.plain_reads import chargeable_accounts, instrument_with_host, researcher_institution
from facilities.selectors import accounts_chargeable_by
from facilities.sql import insert

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


def _fields(world, start, **extra) -> dict:
    return dict(
        instrument=world.instrument, requester=world.researcher, institution=world.ustc, start=start,
        end=start + dt.timedelta(hours=2), hold_end=start + dt.timedelta(hours=2), purpose="XAFS 测量", **extra,
    )


def _booking(world, start, **extra) -> Booking:
    return Booking(**_fields(world, start, **extra))


def test_an_inserted_booking_is_the_row_save_writes(world, tomorrow_9):
    before = timezone.now()
    plain = insert(_booking(world, tomorrow_9, status=Booking.Status.APPROVED))
    later = tomorrow_9 + dt.timedelta(hours=4)
    orm = Booking.objects.create(**_fields(world, later, status=Booking.Status.APPROVED))
    assert plain.pk and plain.pk != orm.pk
    assert plain._state.adding is False and plain._state.db == "default"

    def row(booking, shift=dt.timedelta(0)) -> dict:
        found = values(Booking.objects.get(pk=booking.pk))
        for name in ("id", "created_at", "updated_at"):
            found.pop(name)
        for name in ("start", "end", "hold_end"):
            moment, kind = found[name]
            found[name] = (moment + shift, kind)
        return found

    assert row(plain, shift=later - tomorrow_9) == row(orm)
    reloaded = Booking.objects.get(pk=plain.pk)
    assert reloaded.created_at >= before and reloaded.updated_at >= before  # auto_now_add and auto_now
    assert reloaded.created_at == plain.created_at and reloaded.sequence == 0 and reloaded.purpose == "XAFS 测量"


def test_inserted_events_splits_and_snapshots_keep_their_types(world, tomorrow_9):
    booking = insert(_booking(world, tomorrow_9))
    event = insert(BookingEvent(booking=booking, actor=world.researcher, to_status="requested", data={"why": ["a", 1]}))
    split = insert(BookingSplit(booking=booking, account=world.researcher_account, percent=Decimal("37.50")))
    snapshot = insert(RateSnapshot(booking=booking, user_class="internal", hourly_rate=Decimal("120.00"), published=False))
    assert BookingEvent.objects.get(pk=event.pk).data == {"why": ["a", 1]}
    assert BookingEvent.objects.get(pk=event.pk).at == event.at
    assert BookingSplit.objects.get(pk=split.pk).percent == Decimal("37.50")
    loaded = RateSnapshot.objects.get(pk=snapshot.pk)
    assert (loaded.hourly_rate, loaded.published, loaded.currency) == (Decimal("120.00"), False, "CNY")
    assert list(booking.splits.all()) == [split] and booking.events.get() == event


def test_insert_sends_the_save_signals(world, tomorrow_9):
    heard = []

    def pre(sender, instance, **kwargs):
        heard.append(("pre", sender, instance.pk, kwargs["raw"], kwargs["update_fields"]))

    def post(sender, instance, created, **kwargs):
        heard.append(("post", sender, instance.pk, created))

    pre_save.connect(pre, sender=Booking, weak=False)
    post_save.connect(post, sender=Booking, weak=False)
    try:
        booking = insert(_booking(world, tomorrow_9))
    finally:
        pre_save.disconnect(pre, sender=Booking)
        post_save.disconnect(post, sender=Booking)
    assert heard == [("pre", Booking, None, False, None), ("post", Booking, booking.pk, True)]


def test_a_violated_constraint_is_the_integrity_error_save_raises(world, tomorrow_9):
    booking = insert(_booking(world, tomorrow_9))
    insert(RateSnapshot(booking=booking, user_class="internal", hourly_rate=Decimal("1.00")))
    with pytest.raises(IntegrityError), transaction.atomic():
        insert(RateSnapshot(booking=booking, user_class="internal", hourly_rate=Decimal("2.00")))  # one per booking
    assert RateSnapshot.objects.filter(booking=booking).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the exclusion constraint is PostgreSQL's")
def test_an_overlapping_insert_meets_the_exclusion_constraint(world, tomorrow_9):
    insert(_booking(world, tomorrow_9, status="approved"))
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        insert(_booking(world, tomorrow_9 + dt.timedelta(hours=1), status="requested"))
    assert raised.value.__cause__.sqlstate == "23P01"


def test_insert_refuses_a_model_it_cannot_write_whole():
    from django.contrib.sessions.models import Session

    with pytest.raises(TypeError, match="auto primary key"):
        insert(Session(session_key="k", session_data="", expire_date=timezone.now()))


def test_instruments_with_facility_is_the_select_related_read(world):
    from facilities.plain_reads import instruments_with_facility

    retired = InstrumentFactory(facility=world.facility, code="OLD", active=False)
    other = InstrumentFactory(code="ELSEWHERE")
    ids = [world.instrument.pk, retired.pk, other.pk, other.pk + 1000]
    for active_only in (True, False):
        orm = Instrument.objects.filter(pk__in=ids).select_related("facility")
        if active_only:
            orm = orm.filter(active=True)
        plain = instruments_with_facility(ids, active_only=active_only)
        assert sorted(plain) == sorted(i.pk for i in orm)
        for expected in orm:
            assert values(plain[expected.pk]) == values(expected)
            assert values(plain[expected.pk].facility) == values(expected.facility)
    assert instruments_with_facility([], active_only=True) == {}


def test_booking_with_people_shows_what_the_orm_read_shows(world, tomorrow_9, django_assert_num_queries):
    from booking.selectors import booking_fields, booking_with_people

    booking = insert(_booking(world, tomorrow_9, status=Booking.Status.APPROVED))
    named = FundingAccountFactory(institution=world.ustc)
    for account, percent in ((world.researcher_account, Decimal("62.50")), (named, Decimal("37.50"))):
        insert(BookingSplit(booking=booking, account=account, percent=percent))
    orm = Booking.objects.select_related("requester", "institution").prefetch_related("splits").get(pk=booking.pk)
    with django_assert_num_queries(2):
        plain = booking_with_people(booking.pk)
        shown = booking_fields(plain, show_purpose=True)  # no further read
    assert shown == booking_fields(orm, show_purpose=True)
    assert shown["splits"] == [{"account": world.researcher_account.pk, "percent": "62.50"},
                               {"account": named.pk, "percent": "37.50"}]
    assert values(plain) == values(orm) and values(plain.institution) == values(orm.institution)
    assert booking_with_people(booking.pk + 1000) is None


def test_held_spans_are_the_held_bookings_clipped_and_merged(world, tomorrow_9):
    from booking.selectors import held_spans_many

    h = dt.timedelta(hours=1)
    other = InstrumentFactory(facility=world.facility, code="BL2")
    insert(_booking(world, tomorrow_9, status=Booking.Status.APPROVED))                      # 9–11
    insert(Booking(**_fields(world, tomorrow_9 + 2 * h, status=Booking.Status.REQUESTED)))   # 11–13, touching
    insert(Booking(**_fields(world, tomorrow_9 + 5 * h, status=Booking.Status.CANCELLED)))   # freed: not held
    window = (tomorrow_9 + h, tomorrow_9 + 12 * h)
    assert held_spans_many([world.instrument.pk, other.pk], *window) == {
        world.instrument.pk: [(tomorrow_9 + h, tomorrow_9 + 4 * h)],
        other.pk: [],
    }
    assert held_spans_many([], *window) == {}
