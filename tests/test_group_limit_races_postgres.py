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
