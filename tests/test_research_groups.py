"""Research groups: members from any institution, limits of hours per instrument per month or quarter
checked with the per-person limits, the leader's view of the group's bookings, and who may manage it."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from booking.models import Booking
from booking.services import booking_request
from booking.services.moves import booking_move
from booking.services.quotas import period_bounds
from common.time import local_tz
from facilities.models import GroupHourLimit, GroupMember, ResearchGroup
from facilities.models.tenants import Role

from .factories.facilities import UserFactory, member

H = dt.timedelta(hours=1)


@pytest.fixture
def group(world):
    """wei's group: the researcher leads it; a student (a ZJU researcher) belongs to it; 3 hours of BL1
    per month; the student may charge the researcher's grant."""
    student = UserFactory(username="stu")
    member(student, world.zju, Role.RESEARCHER)
    world.researcher_account.members.add(student)
    g = ResearchGroup.objects.create(name="Zhang lab", institution=world.ustc, leader=world.researcher)
    g.accounts.add(world.researcher_account)
    GroupMember.objects.create(group=g, user=student, kind=GroupMember.Kind.STUDENT)
    GroupHourLimit.objects.create(group=g, instrument=world.instrument, period="month", max_hours=3)
    g.student = student  # type: ignore[attr-defined]
    return g


def third_of_next_month_9() -> dt.datetime:
    today = timezone.localdate()
    first = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return dt.datetime(first.year, first.month, 3, 9, tzinfo=local_tz())


def book(user, world, start, hours=1, account=None):
    account = account or world.researcher_account
    return booking_request(
        requester=user,
        instrument=world.instrument,
        start=start,
        end=start + hours * H,
        splits=[{"account": account.pk, "percent": "100"}],
    )


def test_group_limit_counts_leader_and_members_and_refuses_naming_the_group(world, group):
    start = third_of_next_month_9()
    book(world.researcher, world, start, hours=2)
    with pytest.raises(ValidationError) as refused:
        book(group.student, world, start + 3 * H, hours=2)
    message = " ".join(refused.value.messages)
    assert "Group limit" in message and "Zhang lab" in message and "3 hours of BL1 per month" in message
    assert "holds 2 hours" in message
    book(group.student, world, start + 3 * H, hours=1)  # exactly up to the limit
    assert Booking.objects.filter(instrument=world.instrument).count() == 2


def test_group_limit_ignores_people_outside_the_group_and_other_months(world, group):
    start = third_of_next_month_9()
    book(world.outsider, world, start, hours=5, account=world.outsider_account)
    book(world.researcher, world, start + 6 * H, hours=3)
    following = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=3)
    book(world.researcher, world, following, hours=3)  # a new month, a new allowance
    with pytest.raises(ValidationError, match="Group limit"):
        book(group.student, world, start + 10 * H)


def test_cancelled_bookings_give_their_hours_back(world, group):
    start = third_of_next_month_9()
    taken = book(world.researcher, world, start, hours=3)
    with pytest.raises(ValidationError, match="Group limit"):
        book(group.student, world, start + 4 * H)
    Booking.objects.filter(pk=taken.pk).update(status=Booking.Status.CANCELLED)
    book(group.student, world, start + 4 * H)


def test_quarter_limit(world, group):
    GroupHourLimit.objects.filter(group=group).update(period="quarter", max_hours=2)
    start = third_of_next_month_9()
    book(world.researcher, world, start, hours=2)
    with pytest.raises(ValidationError, match="per quarter"):
        book(group.student, world, start + 5 * H)


def test_moving_a_booking_into_a_full_month_is_refused(world, group):
    start = third_of_next_month_9()
    book(world.researcher, world, start, hours=3)
    following = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=3)
    later = book(group.student, world, following, hours=1)
    with pytest.raises(ValidationError, match="Group limit"):
        booking_move(actor=group.student, booking_id=later.pk, start=start + 5 * H, end=start + 6 * H)
    # Moving within the same month keeps its own hours out of the count.
    first = Booking.objects.get(requester=world.researcher)
    booking_move(actor=world.researcher, booking_id=first.pk, start=start + H, end=start + 4 * H)


def test_the_api_refusal_names_the_group_limit(world, group):
    start = third_of_next_month_9()
    book(world.researcher, world, start, hours=3)
    response = world.client(group.student).post(
        "/api/v1/bookings/",
        {
            "instrument": world.instrument.pk,
            "start": (start + 5 * H).isoformat(),
            "end": (start + 6 * H).isoformat(),
            "splits": [{"account": world.researcher_account.pk, "percent": "100"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert "Zhang lab" in str(response.json())


@given(st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2190, 12, 31)))
def test_period_bounds_contain_the_moment_and_start_on_a_first(moment):
    aware = moment.replace(tzinfo=dt.UTC)
    for period, months in (("month", {1}), ("quarter", {3})):
        start, end = period_bounds(aware, period)
        assert start <= aware < end
        assert start.day == 1 and end.day == 1 and start.hour == 0
        length = (end.year - start.year) * 12 + end.month - start.month
        assert length in months
        if period == "quarter":
            assert start.month in (1, 4, 7, 10)


def test_the_leader_sees_members_bookings_and_members_do_not_see_each_other(world, group):
    start = third_of_next_month_9()
    theirs = book(group.student, world, start)
    mine = book(world.researcher, world, start + 2 * H)
    leader_sees = {b["id"]: b for b in world.client(world.researcher).get("/api/v1/bookings/").json()["results"]}
    assert theirs.pk in leader_sees and leader_sees[theirs.pk]["purpose"] is not None
    student_sees = {b["id"] for b in world.client(group.student).get("/api/v1/bookings/").json()["results"]}
    assert student_sees == {theirs.pk}
    assert mine.pk not in student_sees


def test_group_detail_shows_hours_held_against_each_limit(world, group):
    now = timezone.localtime()
    start = (now + dt.timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    if start.month != now.month:
        pytest.skip("tomorrow is in another month")
    book(group.student, world, start, hours=2)
    body = world.client(world.researcher).get(f"/api/v1/groups/{group.pk}/").json()
    assert body["leader"] == "res" and body["members"] == [{"username": "stu", "kind": "student"}]
    assert body["accounts"] == ["USTC-G1"]
    (limit,) = body["limits"]
    assert limit["held_hours"] == 2 and limit["max_hours"] == 3 and limit["instrument_code"] == "BL1"


def test_who_may_read_and_change_a_group(world, group):
    url = f"/api/v1/groups/{group.pk}/"
    assert world.client(None).get(url).status_code in (401, 403)
    assert world.client(world.outsider).get(url).status_code == 404
    assert world.client(world.manager).get(url).status_code == 404
    assert world.client(group.student).get(url).status_code == 200
    assert [g["id"] for g in world.client(group.student).get("/api/v1/groups/").json()["results"]] == [group.pk]
    assert world.client(world.outsider).get("/api/v1/groups/").json()["results"] == []
    # A member may not add people or change limits; the leader adds members, not limits.
    add = {"username": "out", "kind": "postdoc"}
    assert world.client(group.student).post(url + "members/", add, format="json").status_code == 403
    limit = {"instrument": world.instrument.pk, "period": "month", "max_hours": 10}
    assert world.client(world.researcher).put(url + "limits/", limit, format="json").status_code == 403
    response = world.client(world.researcher).post(url + "members/", add, format="json")
    assert response.status_code == 201
    assert {"username": "out", "kind": "postdoc"} in response.json()["members"]
    # The institution's administrator sets limits; another institution's may not even see the group.
    ustc_admin, zju_admin = UserFactory(username="ua"), UserFactory(username="za")
    member(ustc_admin, world.ustc, Role.INSTITUTION_ADMIN)
    member(zju_admin, world.zju, Role.INSTITUTION_ADMIN)
    assert world.client(zju_admin).put(url + "limits/", limit, format="json").status_code == 404
    response = world.client(ustc_admin).put(url + "limits/", limit, format="json")
    assert response.status_code == 200 and response.json()["limits"][0]["max_hours"] == 10
    gone = {"instrument": world.instrument.pk, "period": "month", "max_hours": None}
    assert world.client(ustc_admin).put(url + "limits/", gone, format="json").json()["limits"] == []
    assert world.client(world.researcher).delete(url + "members/?username=out").status_code == 204
    assert not GroupMember.objects.filter(group=group, user=world.outsider).exists()


def test_creating_a_group_is_for_the_institutions_administrators(world):
    ustc_admin, zju_admin = UserFactory(username="ua"), UserFactory(username="za")
    member(ustc_admin, world.ustc, Role.INSTITUTION_ADMIN)
    member(zju_admin, world.zju, Role.INSTITUTION_ADMIN)
    body = {"name": "Zhang lab", "leader": "res"}
    for refused in (world.researcher, world.finance, zju_admin):
        assert world.client(refused).post("/api/v1/institutions/USTC/groups/", body, format="json").status_code == 403
    # The leader must belong to the institution.
    wrong = world.client(ustc_admin).post(
        "/api/v1/institutions/USTC/groups/", {"name": "X", "leader": "out"}, format="json"
    )
    assert wrong.status_code == 400
    created = world.client(ustc_admin).post("/api/v1/institutions/USTC/groups/", body, format="json")
    assert created.status_code == 201 and created.json()["leader"] == "res"
    again = world.client(ustc_admin).post("/api/v1/institutions/USTC/groups/", body, format="json")
    assert again.status_code == 400


def test_group_changes_are_audited(world, group):
    from auditlog.models import LogEntry

    ustc_admin = UserFactory(username="ua")
    member(ustc_admin, world.ustc, Role.INSTITUTION_ADMIN)
    world.client(ustc_admin).put(
        f"/api/v1/groups/{group.pk}/limits/",
        {"instrument": world.instrument.pk, "period": "quarter", "max_hours": 7},
        format="json",
    )
    entry = LogEntry.objects.get_for_model(GroupHourLimit).order_by("-pk").first()
    assert entry is not None and entry.actor == ustc_admin
    assert world.ustc.pk in entry.additional_data["institutions"]


def test_the_leader_sees_but_may_not_cancel_or_move_a_members_booking(world, group):
    theirs = book(group.student, world, third_of_next_month_9())
    client = world.client(world.researcher)
    assert client.get(f"/api/v1/bookings/{theirs.pk}/").status_code == 200
    assert client.post(f"/api/v1/bookings/{theirs.pk}/cancel/", {}, format="json").status_code == 403
    later = theirs.start + 5 * H
    moved = client.post(
        f"/api/v1/bookings/{theirs.pk}/move/",
        {"start": later.isoformat(), "end": (later + H).isoformat()},
        format="json",
    )
    assert moved.status_code == 403
    assert Booking.objects.get(pk=theirs.pk).status == theirs.status


def test_the_demo_group_is_loaded_once(db):
    from django.core.management import call_command

    from facilities.seed import DEMO_GROUP

    for _ in range(2):
        call_command("seed_catalog", verbosity=0)
        call_command("seed_demo_people", verbosity=0)
        call_command("seed_demo_groups", verbosity=0)
    group = ResearchGroup.objects.get(name=DEMO_GROUP[0])
    assert group.leader.username == "wei.zhang"
    assert list(group.members.values_list("user__username", "kind")) == [("jing.li", "student")]
    (limit,) = group.hour_limits.all()
    assert limit.instrument.facility.code == "SSRF" and limit.max_hours == 24
    assert group.accounts.get().members.filter(username="jing.li").exists()


def test_the_leader_sees_the_groups_spending_this_month(world, group):
    from decimal import Decimal

    from .factories.facilities import RateCardFactory

    for klass in ("internal", "external_academic", "external_industry"):
        RateCardFactory(instrument=world.instrument, user_class=klass, hourly_rate=Decimal("100.00"))
    now = timezone.localtime()
    start = (now + dt.timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    if start.month != now.month:
        pytest.skip("tomorrow is in another month")
    book(group.student, world, start, hours=2)
    book(world.outsider, world, start + 3 * H, account=world.outsider_account)  # not the group's
    url = f"/api/v1/groups/{group.pk}/spending/"
    (row,) = world.client(world.researcher).get(url).json()
    assert row["account"] == "USTC-G1" and row["month"] == now.strftime("%Y-%m")
    assert row["charged"] == "0.00" and row["held_estimate"] == "200.00" and row["total"] == "200.00"
    assert world.client(world.outsider).get(url).status_code == 404
    assert world.client(world.finance).get(url).status_code == 404
    page = Client()
    page.force_login(world.researcher)
    assert "¥200.00" in page.get(f"/groups/{group.pk}/").content.decode()


def rates(world, hourly="100.00"):
    from decimal import Decimal

    from .factories.facilities import RateCardFactory

    for klass in ("internal", "external_academic", "external_industry"):
        RateCardFactory(instrument=world.instrument, user_class=klass, hourly_rate=Decimal(hourly))


def test_group_spending_limit_refuses_naming_the_group_and_account(world, group):
    from facilities.models import GroupSpendingLimit

    rates(world)
    GroupHourLimit.objects.filter(group=group).delete()
    GroupSpendingLimit.objects.create(group=group, account=world.researcher_account, max_amount="250.00")
    start = third_of_next_month_9()
    book(world.researcher, world, start, hours=2)  # 200 of 250
    with pytest.raises(ValidationError) as refused:
        book(group.student, world, start + 3 * H, hours=1)  # 100 more: over
    message = " ".join(refused.value.messages)
    assert "Group spending limit" in message and "Zhang lab" in message and "USTC-G1" in message
    assert "50.00 CNY left" in message
    # Another month, or an account the limit is not on, is not affected.
    following = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=3)
    book(group.student, world, following, hours=2)
    world.outsider_account.members.add(group.student)
    book(group.student, world, start + 3 * H, hours=1, account=world.outsider_account)


def test_spending_limits_are_set_by_the_institutions_administrators(world, group):
    ustc_admin = UserFactory(username="ua")
    member(ustc_admin, world.ustc, Role.INSTITUTION_ADMIN)
    url = f"/api/v1/groups/{group.pk}/spending-limits/"
    body = {"account": world.researcher_account.pk, "max_amount": "1000.00"}
    assert world.client(world.researcher).put(url, body, format="json").status_code == 403
    assert world.client(world.outsider).put(url, body, format="json").status_code == 404
    response = world.client(ustc_admin).put(url, body, format="json")
    assert response.status_code == 200
    assert response.json()["spending_limits"] == [{"account": "USTC-G1", "max_amount": "1000.00"}]
    other = {"account": world.outsider_account.pk, "max_amount": "5.00"}
    assert world.client(ustc_admin).put(url, other, format="json").status_code == 400
    negative = {"account": world.researcher_account.pk, "max_amount": "-1"}
    assert world.client(ustc_admin).put(url, negative, format="json").status_code == 400
    cleared = {"account": world.researcher_account.pk, "max_amount": None}
    assert world.client(ustc_admin).put(url, cleared, format="json").json()["spending_limits"] == []
