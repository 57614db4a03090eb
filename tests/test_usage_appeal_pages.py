"""Pages for violations, suspensions and appeals: the researcher sees their standing and appeals once
from the dashboard; a manager of the facility decides open appeals and sets the violation policy in the
console; others are refused. Through the services of usage/services/violations.py."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories.facilities import FacilityFactory, UserFactory, member
from usage.models import Suspension, Violation, ViolationKind, ViolationPolicy

from .factories.booking import BookingFactory

D = dt.timedelta(days=1)
H = dt.timedelta(hours=1)
pytestmark = pytest.mark.usefixtures("tasks_in_process")


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def suspend(world, user=None, appeal=Suspension.Appeal.NONE) -> Suspension:
    user = user or world.researcher
    now = timezone.now()
    # A booking of its own, apart from the others (PostgreSQL refuses overlapping holds).
    start = timezone.localtime(now - (3 + Suspension.objects.count()) * D).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    booking = BookingFactory(
        instrument=world.instrument, requester=user, institution=world.ustc, start=start, end=start + 2 * H
    )
    violation = Violation.objects.create(
        user=user, facility=world.facility, booking=booking, kind=ViolationKind.NO_SHOW, occurred_at=start
    )
    s = Suspension.objects.create(
        user=user,
        facility=world.facility,
        starts_at=now - D,
        ends_at=now + 29 * D,
        reason="3 violations in 90 days",
        appeal=appeal,
        appeal_text="I was ill." if appeal != Suspension.Appeal.NONE else "",
        appealed_at=now if appeal != Suspension.Appeal.NONE else None,
    )
    s.violations.set([violation])
    return s


def test_dashboard_shows_violations_and_suspension_and_the_researcher_appeals_once(world):
    s = suspend(world)
    c = client_for(world.researcher)
    page = c.get(reverse("frontend:dashboard")).content.decode()
    assert f'id="suspension-{s.pk}"' in page and "FAC" in page
    assert "No-show" in page and reverse("frontend:suspension_appeal", args=[s.pk]) in page

    url = reverse("frontend:suspension_appeal", args=[s.pk])
    assert c.post(url, {"text": ""}).status_code == 302
    s.refresh_from_db()
    assert s.appeal == Suspension.Appeal.NONE  # an empty appeal is refused

    assert c.post(url, {"text": "The instrument was down that morning."}).status_code == 302
    s.refresh_from_db()
    assert (s.appeal, s.appeal_text) == (Suspension.Appeal.PENDING, "The instrument was down that morning.")
    page = c.get(reverse("frontend:dashboard")).content.decode()
    assert "waiting for a manager" in page and url not in page

    response = c.post(url, {"text": "Again."}, follow=True)
    assert "already appealed" in response.content.decode()
    s.refresh_from_db()
    assert s.appeal_text == "The instrument was down that morning."


def test_another_researcher_may_not_appeal_or_see_a_suspension(world):
    s = suspend(world)
    c = client_for(world.outsider)
    assert f'id="suspension-{s.pk}"' not in c.get(reverse("frontend:dashboard")).content.decode()
    assert c.post(reverse("frontend:suspension_appeal", args=[s.pk]), {"text": "Let them off."}).status_code == 404
    s.refresh_from_db()
    assert s.appeal == Suspension.Appeal.NONE


def test_manager_lists_open_appeals_and_grants_one_with_a_reason(world):
    s = suspend(world, appeal=Suspension.Appeal.PENDING)
    c = client_for(world.manager)
    facility_url = reverse("frontend:console_facility", args=["FAC"])
    page = c.get(facility_url).content.decode()
    assert f'id="appeal-{s.pk}"' in page and "I was ill." in page

    grant = reverse("frontend:appeal_decide", args=["FAC", s.pk, "grant"])
    assert c.post(grant, {"reason": ""}).status_code == 302
    s.refresh_from_db()
    assert s.appeal == Suspension.Appeal.PENDING  # a decision needs a reason

    assert c.post(grant, {"reason": "Medical certificate seen."}).status_code == 302
    s.refresh_from_db()
    assert (s.appeal, s.decided_by, s.decision_reason) == (
        Suspension.Appeal.GRANTED,
        world.manager,
        "Medical certificate seen.",
    )
    assert s.ends_at <= timezone.now() and s.violations.get().waived
    assert f'id="appeal-{s.pk}"' not in c.get(facility_url).content.decode()


def test_manager_refuses_an_appeal_and_the_suspension_stands(world):
    s = suspend(world, appeal=Suspension.Appeal.PENDING)
    c = client_for(world.manager)
    c.post(reverse("frontend:appeal_decide", args=["FAC", s.pk, "refuse"]), {"reason": "Three no-shows."})
    s.refresh_from_db()
    assert (s.appeal, s.decision_reason) == (Suspension.Appeal.REJECTED, "Three no-shows.")
    assert s.ends_at > timezone.now()
    page = client_for(world.researcher).get(reverse("frontend:dashboard")).content.decode()
    assert "Three no-shows." in page


def test_another_facilitys_manager_and_researchers_may_not_decide(world):
    s = suspend(world, appeal=Suspension.Appeal.PENDING)
    other = FacilityFactory(code="OTH", host=world.zju)
    other_manager = UserFactory(username="mgr2")
    member(other_manager, world.zju, "facility_manager", [other])
    c = client_for(other_manager)
    # Not a facility they manage: not found; through their own facility's address: refused by the service.
    assert c.get(reverse("frontend:console_facility", args=["FAC"])).status_code == 404
    assert c.post(reverse("frontend:appeal_decide", args=["FAC", s.pk, "grant"]), {"reason": "x"}).status_code == 404
    assert c.post(reverse("frontend:appeal_decide", args=["OTH", s.pk, "grant"]), {"reason": "x"}).status_code == 403
    assert f'id="appeal-{s.pk}"' not in c.get(reverse("frontend:console_facility", args=["OTH"])).content.decode()
    for who in (world.researcher, world.outsider):
        r = client_for(who).post(reverse("frontend:appeal_decide", args=["FAC", s.pk, "grant"]), {"reason": "x"})
        assert r.status_code in (403, 404)
    s.refresh_from_db()
    assert s.appeal == Suspension.Appeal.PENDING


def test_manager_sets_the_violation_policy_and_others_may_not(world):
    url = reverse("frontend:violation_policy", args=["FAC"])
    data = {
        "policy-active": "on",
        "policy-max_violations": "3",
        "policy-window_days": "90",
        "policy-suspension_days": "30",
        "policy-short_use_percent": "40",
    }
    assert client_for(world.manager).post(url, data).status_code == 302
    p = ViolationPolicy.objects.get(facility=world.facility)
    assert (p.active, p.max_violations, p.window_days, p.suspension_days, p.short_use_percent) == (True, 3, 90, 30, 40)

    bad = client_for(world.manager).post(url, {**data, "policy-max_violations": "0"})
    assert bad.status_code == 400
    assert ViolationPolicy.objects.get(facility=world.facility).max_violations == 3

    for who in (world.researcher, world.outsider, world.finance):
        r = client_for(who).post(url, {**data, "policy-max_violations": "1"})
        assert r.status_code in (403, 404)
    assert ViolationPolicy.objects.get(facility=world.facility).max_violations == 3


@pytest.mark.parametrize("n", [1, 8])
def test_open_appeals_list_queries_do_not_grow(world, n, django_assert_max_num_queries):
    for k in range(n):
        user = UserFactory(username=f"sus{k}")
        member(user, world.ustc, "researcher")
        suspend(world, user=user, appeal=Suspension.Appeal.PENDING)
    c = client_for(world.manager)
    with django_assert_max_num_queries(22):
        page = c.get(reverse("frontend:console_facility", args=["FAC"]))
    assert page.status_code == 200
    assert page.content.decode().count('class="card appeal"') == n


@pytest.mark.parametrize("n", [1, 8])
def test_dashboard_standing_queries_do_not_grow(world, n, django_assert_max_num_queries):
    for _k in range(n):
        suspend(world)
    c = client_for(world.researcher)
    with django_assert_max_num_queries(12):
        page = c.get(reverse("frontend:dashboard"))
    assert page.content.decode().count('class="card suspension"') == n


def test_the_pages_speak_chinese(world):
    suspend(world)
    r = client_for(world.researcher)
    r.post(reverse("frontend:language"), {"language": "zh-hans", "next": "/me/"})
    assert "提交申诉" in r.get(reverse("frontend:dashboard")).content.decode()
    suspend(world, user=world.outsider, appeal=Suspension.Appeal.PENDING)
    m = client_for(world.manager)
    m.post(reverse("frontend:language"), {"language": "zh-hans", "next": "/console/"})
    page = m.get(reverse("frontend:console_facility", args=["FAC"])).content.decode()
    assert "暂停申诉" in page and "违规政策" in page
