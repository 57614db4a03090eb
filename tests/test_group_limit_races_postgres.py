"""A research group's hour limit holds when its members book at once: real threads with their own
PostgreSQL connections, each through the booking service. On SQLite the IMMEDIATE transactions
serialize every writer, so only PostgreSQL's row locks are under test here."""

import datetime as dt

import pytest
from django.db import connection

from booking.models import Booking
from booking.services import booking_request
from facilities.models import GroupHourLimit, GroupMember, ResearchGroup
from facilities.models.tenants import Role

from .factories.facilities import UserFactory, member
from .test_quota_races_postgres import attempt_all
from .test_races import quiet_after_commit  # noqa: F401 - a fixture

H = dt.timedelta(hours=1)
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("quiet_after_commit")
def test_racing_members_never_take_more_than_the_groups_hours(world, tomorrow_9):
    """Six members book six different one-hour slots at once; the group may hold three hours a month."""
    group = ResearchGroup.objects.create(name="Zhang lab", institution=world.ustc, leader=world.researcher)
    start = tomorrow_9.replace(day=1) + dt.timedelta(days=40)
    start = start.replace(day=3)
    GroupHourLimit.objects.create(group=group, instrument=world.instrument, period="month", max_hours=3)
    students = []
    for i in range(6):
        student = UserFactory(username=f"stu{i}")
        member(student, world.ustc, Role.RESEARCHER)
        world.researcher_account.members.add(student)
        GroupMember.objects.create(group=group, user=student)
        students.append(student)

    outcome = attempt_all(
        6,
        lambda i: booking_request(
            requester=students[i],
            instrument=world.instrument,
            start=start + 2 * i * H,
            end=start + (2 * i + 1) * H,
            splits=[{"account": world.researcher_account.pk, "percent": "100"}],
        ),
    )

    assert outcome["booked"] == 3, outcome
    assert sum(outcome.values()) == 6 and all(k == "booked" or k.startswith("Group limit") for k in outcome)
    assert Booking.objects.filter(instrument=world.instrument).count() == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("quiet_after_commit")
def test_racing_members_on_different_instruments_never_overspend_the_groups_month(world, tomorrow_9):
    """Six members book one hour each on six instruments at once (so no instrument lock orders them),
    charging an account without a cap that the group may spend 300.00 a month on: exactly three fit."""
    from decimal import Decimal

    from facilities.models import GroupSpendingLimit, RateCard

    from .factories.facilities import InstrumentFactory

    instruments = [InstrumentFactory(facility=world.facility, code=f"GS{i}") for i in range(6)]
    for instrument in instruments:
        for klass in ("internal", "external_academic", "external_industry"):
            RateCard.objects.create(instrument=instrument, user_class=klass, hourly_rate=Decimal("100.00"))
    group = ResearchGroup.objects.create(name="Zhang lab", institution=world.ustc, leader=world.researcher)
    group.accounts.add(world.researcher_account)
    GroupSpendingLimit.objects.create(group=group, account=world.researcher_account, max_amount=Decimal("300.00"))
    start = (tomorrow_9.replace(day=1) + dt.timedelta(days=40)).replace(day=3)
    students = []
    for i in range(6):
        student = UserFactory(username=f"gs{i}")
        member(student, world.ustc, Role.RESEARCHER)
        world.researcher_account.members.add(student)
        GroupMember.objects.create(group=group, user=student)
        students.append(student)

    outcome = attempt_all(
        6,
        lambda i: booking_request(
            requester=students[i],
            instrument=instruments[i],
            start=start,
            end=start + H,
            splits=[{"account": world.researcher_account.pk, "percent": "100"}],
        ),
    )

    assert outcome["booked"] == 3, outcome
    assert all(k == "booked" or k.startswith("Group spending limit") for k in outcome), outcome
