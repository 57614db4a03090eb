"""Institution administrators see and decide requests to join their institution — on the people page and
through the API — and no one else does."""

import re

import pytest
from auditlog.models import LogEntry
from django.test import Client
from django.urls import reverse

from facilities.joining import request_membership
from facilities.models import JoinRequest, Membership
from facilities.models.tenants import Role

from .factories.facilities import UserFactory, member

pytestmark = pytest.mark.django_db
Via, State = JoinRequest.Via, JoinRequest.State


@pytest.fixture
def admins(world):
    ustc_admin, zju_admin = UserFactory(username="ua"), UserFactory(username="za")
    member(ustc_admin, world.ustc, Role.INSTITUTION_ADMIN)
    member(zju_admin, world.zju, Role.INSTITUTION_ADMIN)
    return ustc_admin, zju_admin


@pytest.fixture
def waiting(world):
    person = UserFactory(username="li.na", email="li.na@ustc.edu.cn", first_name="Na", last_name="Li")
    return request_membership(user=person, institution=world.ustc, via=Via.EMAIL_DOMAIN, affiliation="student")


def refused(world, admins):
    """Not USTC's administrators: its researcher and finance, ZJU's administrator, a manager elsewhere."""
    return [world.researcher, world.finance, admins[1], world.manager]


def test_the_administrator_lists_the_institutions_requests_pending_first(
    world, admins, waiting, django_assert_max_num_queries
):
    decided = request_membership(user=UserFactory(username="old"), institution=world.ustc, via=Via.REQUEST)
    JoinRequest.objects.filter(pk=decided.pk).update(state=State.DECLINED)
    request_membership(user=UserFactory(username="z.person"), institution=world.zju, via=Via.REQUEST)
    for i in range(5):
        request_membership(user=UserFactory(username=f"p{i}"), institution=world.ustc, via=Via.REQUEST)
    client = world.client(admins[0])
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/institutions/USTC/join-requests/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["username"] for r in rows] == ["li.na", "p0", "p1", "p2", "p3", "p4", "old"]
    first = rows[0]
    assert first == {
        "id": waiting.pk,
        "username": "li.na",
        "name": "Na Li",
        "email": "li.na@ustc.edu.cn",
        "institution": "USTC",
        "via": "email_domain",
        "affiliation": "student",
        "state": "pending",
        "created_at": first["created_at"],
        "decided_at": None,
        "decided_by": None,
    }
    pending = client.get("/api/v1/institutions/USTC/join-requests/?state=pending").json()["results"]
    assert len(pending) == 6
    assert client.get("/api/v1/institutions/USTC/join-requests/?state=maybe").status_code == 400


def test_no_one_else_lists_or_decides(world, admins, waiting):
    for persona in refused(world, admins):
        client = world.client(persona)
        assert client.get("/api/v1/institutions/USTC/join-requests/").status_code == 403, persona.username
        expected = 404 if persona == admins[1] else 403  # another institution's administrator learns nothing
        for action in ("approve", "decline"):
            response = client.post(f"/api/v1/join-requests/{waiting.pk}/{action}/")
            assert response.status_code == expected, (persona.username, action, response.content)
    assert world.client(None).get("/api/v1/institutions/USTC/join-requests/").status_code in (401, 403)
    assert world.client(None).post(f"/api/v1/join-requests/{waiting.pk}/approve/").status_code in (401, 403)
    assert world.client(admins[1]).get("/api/v1/institutions/NOPE/join-requests/").status_code == 403
    assert JoinRequest.objects.get(pk=waiting.pk).state == State.PENDING
    assert not Membership.objects.filter(user=waiting.user).exists()


def test_the_administrator_approves_once(world, admins, waiting):
    client = world.client(admins[0])
    response = client.post(f"/api/v1/join-requests/{waiting.pk}/approve/")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "approved" and response.json()["decided_by"] == "ua"
    assert Membership.objects.filter(user=waiting.user, institution=world.ustc, role=Role.RESEARCHER).exists()
    again = client.post(f"/api/v1/join-requests/{waiting.pk}/decline/")
    assert again.status_code == 400 and "already decided" in again.json()["detail"]
    assert LogEntry.objects.get_for_object(waiting).filter(action=LogEntry.Action.UPDATE).get().actor == admins[0]


def test_the_administrator_declines(world, admins, waiting):
    response = world.client(admins[0]).post(f"/api/v1/join-requests/{waiting.pk}/decline/")
    assert response.status_code == 200 and response.json()["state"] == "declined"
    assert not Membership.objects.filter(user=waiting.user).exists()


def _signed_in(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_the_people_page_shows_pending_requests_and_decides_them(world, admins, waiting, django_assert_max_num_queries):
    url = reverse("frontend:people", args=["USTC"])
    request_membership(user=UserFactory(username="z.person"), institution=world.zju, via=Via.REQUEST)
    admin = _signed_in(admins[0])
    with django_assert_max_num_queries(16):
        page = admin.get(url)
    text = page.content.decode()
    assert set(re.findall(r'id="join-request-(\d+)"', text)) == {str(waiting.pk)}
    assert "li.na@ustc.edu.cn" in text and "z.person" not in text
    decide = reverse("frontend:people_join_decide", args=["USTC", waiting.pk])
    # Another institution's administrator may not decide it, even through USTC's URL.
    assert _signed_in(admins[1]).post(decide, {"decision": "approve"}).status_code == 403
    assert _signed_in(world.researcher).post(decide, {"decision": "approve"}).status_code == 403
    assert JoinRequest.objects.get(pk=waiting.pk).state == State.PENDING
    done = admin.post(decide, {"decision": "approve"}, follow=True)
    assert "li.na is now a researcher here." in done.content.decode()
    assert Membership.objects.filter(user=waiting.user, institution=world.ustc, role=Role.RESEARCHER).exists()
    assert 'id="join-request-' not in done.content.decode()
