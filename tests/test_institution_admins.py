"""Institution administrators manage their own institution's people and accounts — and only those."""

import datetime as dt
import re

import pytest
from auditlog.models import LogEntry
from django.core import mail
from django.utils import timezone

from booking.services import booking_request
from facilities.models import FundingAccount, Invitation, Membership, User
from facilities.models.tenants import Role

from .factories.facilities import FacilityFactory, UserFactory, member

H = dt.timedelta(hours=1)


@pytest.fixture
def admins(world):
    ustc_admin, zju_admin = UserFactory(username="ua"), UserFactory(username="za")
    member(ustc_admin, world.ustc, Role.INSTITUTION_ADMIN)
    member(zju_admin, world.zju, Role.INSTITUTION_ADMIN)
    return ustc_admin, zju_admin


def refused_personas(world, admins):
    """Everyone who must not manage USTC: its researcher and finance, another institution's admin,
    a facility manager elsewhere, an unrelated researcher."""
    return [world.researcher, world.finance, admins[1], world.manager, world.outsider]


ENDPOINTS = [
    ("get", "/api/v1/institutions/USTC/members/", None),
    ("post", "/api/v1/institutions/USTC/members/", {"username": "out", "role": "researcher"}),
    ("post", "/api/v1/institutions/USTC/members/deactivate/", {"username": "res"}),
    ("post", "/api/v1/institutions/USTC/invitations/", {"email": "new@ustc.edu.cn", "role": "researcher"}),
    ("get", "/api/v1/institutions/USTC/accounts/", None),
    ("post", "/api/v1/institutions/USTC/accounts/", {"code": "X", "title": "X", "principal_investigator": "res"}),
]


@pytest.mark.parametrize(("method", "url", "body"), ENDPOINTS)
def test_only_the_institutions_administrators_may_use_its_endpoints(world, admins, method, url, body):
    for persona in refused_personas(world, admins):
        response = getattr(world.client(persona), method)(url, body, format="json")
        assert response.status_code == 403, (persona.username, response.content)
    assert getattr(world.client(None), method)(url, body, format="json").status_code in (401, 403)
    # An unknown institution is refused the same way, revealing nothing.
    assert world.client(admins[1]).get("/api/v1/institutions/NOPE/members/").status_code == 403
    assert Membership.objects.filter(user=world.outsider, institution=world.ustc).count() == 0
    assert User.objects.get(username="res").is_active


def test_an_administrator_lists_only_their_institutions_people_and_accounts(
    world, admins, django_assert_max_num_queries
):
    ustc_admin, _ = admins
    for i in range(5):
        member(UserFactory(username=f"r{i}"), world.ustc, Role.RESEARCHER)
    with django_assert_max_num_queries(8):
        body = world.client(ustc_admin).get("/api/v1/institutions/USTC/members/").json()
    names = {m["username"] for m in body["results"]}
    assert {"res", "fin", "ua", "r0", "r4"} <= names and not names & {"out", "za", "mgr"}
    accounts = world.client(ustc_admin).get("/api/v1/institutions/ustc/accounts/").json()["results"]
    assert [a["code"] for a in accounts] == ["USTC-G1"]


def test_give_and_take_roles(world, admins):
    ustc_admin, _ = admins
    client = world.client(ustc_admin)
    # Anyone (here a ZJU researcher) may be given a role at USTC.
    response = client.post("/api/v1/institutions/USTC/members/", {"username": "out", "role": "finance"}, format="json")
    assert response.status_code == 201 and response.json()["role"] == "finance"
    # A facility manager manages facilities USTC hosts, and only those.
    hosted = FacilityFactory(code="USTC-NMR", host=world.ustc)
    foreign = {"username": "res", "role": "facility_manager", "facilities": ["FAC"]}
    assert client.post("/api/v1/institutions/USTC/members/", foreign, format="json").status_code == 400
    own = {"username": "res", "role": "facility_manager", "facilities": ["USTC-NMR"]}
    response = client.post("/api/v1/institutions/USTC/members/", own, format="json")
    assert response.status_code == 201 and response.json()["facilities"] == ["USTC-NMR"]
    assert hosted.pk in set(
        Membership.objects.get(user=world.researcher, role="facility_manager").facilities.values_list("pk", flat=True)
    )
    # Take a role away; not one at another institution; not one's own administrator role.
    given = Membership.objects.get(user=world.outsider, institution=world.ustc, role="finance")
    assert client.delete(f"/api/v1/memberships/{given.pk}/").status_code == 204
    assert not Membership.objects.filter(pk=given.pk).exists()
    zju_role = Membership.objects.get(user=world.outsider, institution=world.zju)
    assert client.delete(f"/api/v1/memberships/{zju_role.pk}/").status_code == 404
    assert world.client(world.researcher).delete(f"/api/v1/memberships/{zju_role.pk}/").status_code == 403
    own_admin = Membership.objects.get(user=ustc_admin, role=Role.INSTITUTION_ADMIN)
    assert client.delete(f"/api/v1/memberships/{own_admin.pk}/").status_code == 400
    assert Membership.objects.filter(pk=zju_role.pk).exists() and Membership.objects.filter(pk=own_admin.pk).exists()
    # Every change is in the audit trail, by the administrator, filed under USTC.
    entries = LogEntry.objects.get_for_model(Membership).filter(actor=ustc_admin)
    assert entries.count() >= 3
    assert all(world.ustc.pk in e.additional_data["institutions"] for e in entries)


def test_deactivating_a_leaver(world, admins):
    ustc_admin, _ = admins
    world.researcher_account.members.add(world.outsider)
    member(world.outsider, world.ustc, Role.RESEARCHER)
    client = world.client(ustc_admin)
    # The ZJU researcher leaves USTC: their USTC role and right to charge USTC's account end; they stay active.
    response = client.post("/api/v1/institutions/USTC/members/deactivate/", {"username": "out"}, format="json")
    assert response.status_code == 200 and response.json() == {"roles_ended": 1}
    assert not world.researcher_account.members.filter(pk=world.outsider.pk).exists()
    assert User.objects.get(pk=world.outsider.pk).is_active
    # Someone who belongs nowhere else can no longer sign in.
    assert client.post("/api/v1/institutions/USTC/members/deactivate/", {"username": "res"}, format="json").json() == {
        "roles_ended": 1
    }
    assert not User.objects.get(pk=world.researcher.pk).is_active
    entry = LogEntry.objects.get_for_object(User.objects.get(pk=world.researcher.pk)).order_by("-pk").first()
    assert entry is not None and entry.actor == ustc_admin and "is_active" in entry.changes_dict
    assert world.ustc.pk in entry.additional_data["institutions"]  # the institution's admins read it
    # Not a person of another institution; not oneself.
    assert (
        client.post("/api/v1/institutions/USTC/members/deactivate/", {"username": "za"}, format="json").status_code
        == 400
    )
    assert (
        client.post("/api/v1/institutions/USTC/members/deactivate/", {"username": "ua"}, format="json").status_code
        == 400
    )
    assert User.objects.get(username="za").is_active


def test_funding_accounts_with_budgets_and_who_may_charge_them(world, admins):
    ustc_admin, zju_admin = admins
    member(UserFactory(username="stu"), world.ustc, Role.RESEARCHER)
    client = world.client(ustc_admin)
    body = {
        "code": "USTC-G2",
        "title": "Spectroscopy of new materials",
        "principal_investigator": "res",
        "valid_from": "2026-01-01",
        "valid_until": "2028-12-31",
        "budget_cap": "50000.00",
        "members": ["stu"],
    }
    response = client.post("/api/v1/institutions/USTC/accounts/", body, format="json")
    assert response.status_code == 201, response.content
    account = FundingAccount.objects.get(code="USTC-G2")
    assert account.institution == world.ustc and str(account.budget_cap) == "50000.00"
    assert list(account.members.values_list("username", flat=True)) == ["stu"]
    # The same code twice, a principal investigator from elsewhere, a validity backwards: 400s.
    assert client.post("/api/v1/institutions/USTC/accounts/", body, format="json").status_code == 400
    foreign_pi = {**body, "code": "USTC-G3", "principal_investigator": "out"}
    assert client.post("/api/v1/institutions/USTC/accounts/", foreign_pi, format="json").status_code == 400
    backwards = {**body, "code": "USTC-G4", "valid_until": "2025-01-01"}
    assert client.post("/api/v1/institutions/USTC/accounts/", backwards, format="json").status_code == 400
    # Change the budget and who may charge it; ZJU's administrator may not touch it.
    url = f"/api/v1/accounts/{account.pk}/"
    assert world.client(zju_admin).patch(url, {"budget_cap": "1.00"}, format="json").status_code == 404
    assert world.client(world.researcher).patch(url, {"budget_cap": "1.00"}, format="json").status_code == 403
    assert client.patch(url, {"budget_cap": "80000.00"}, format="json").json()["budget_cap"] == "80000.00"
    assert client.patch(url, {"budget_cap": "-1"}, format="json").status_code == 400
    assert client.put(url + "members/", {"usernames": ["fin"]}, format="json").status_code == 200
    assert list(account.members.values_list("username", flat=True)) == ["fin"]
    assert client.put(url + "members/", {"usernames": ["out"]}, format="json").status_code == 400
    zju_url = f"/api/v1/accounts/{world.outsider_account.pk}/members/"
    assert client.put(zju_url, {"usernames": ["res"]}, format="json").status_code == 404
    entries = LogEntry.objects.get_for_object(account).filter(actor=ustc_admin)
    assert entries.count() >= 3


def test_an_invited_person_makes_an_account_and_books(world, admins, tomorrow_9, django_capture_on_commit_callbacks):
    ustc_admin, _ = admins
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client(ustc_admin).post(
            "/api/v1/institutions/USTC/invitations/", {"email": "li.na@ustc.edu.cn"}, format="json"
        )
    assert response.status_code == 201
    (message,) = mail.outbox
    assert message.to == ["li.na@ustc.edu.cn"]
    key = re.search(r"/invitations/([\w-]+)/", message.body).group(1)
    assert not Invitation.objects.filter(digest=key).exists()  # only the digest is kept
    accept = {"key": key, "username": "li.na", "password": "a long enough pass phrase"}
    response = world.client(None).post("/api/v1/invitations/accept/", accept, format="json")
    assert response.status_code == 201 and response.json()["role"] == "researcher"
    li = User.objects.get(username="li.na")
    assert li.email == "li.na@ustc.edu.cn" and li.check_password("a long enough pass phrase")
    # A key works once.
    again = world.client(None).post("/api/v1/invitations/accept/", {**accept, "username": "li.na2"}, format="json")
    assert again.status_code == 400
    # The administrator lets the new member charge a grant; the member books.
    world.client(ustc_admin).put(
        f"/api/v1/accounts/{world.researcher_account.pk}/members/", {"usernames": ["li.na"]}, format="json"
    )
    booking = booking_request(
        requester=li,
        instrument=world.instrument,
        start=tomorrow_9,
        end=tomorrow_9 + H,
        splits=[{"account": world.researcher_account.pk, "percent": "100"}],
    )
    assert booking.institution == world.ustc


def test_invitations_refused(world, admins, django_capture_on_commit_callbacks):
    ustc_admin, _ = admins
    client = world.client(ustc_admin)
    manager = {"email": "m@ustc.edu.cn", "role": "facility_manager"}
    assert client.post("/api/v1/institutions/USTC/invitations/", manager, format="json").status_code == 400
    assert client.post("/api/v1/institutions/USTC/invitations/", {"email": "nope"}, format="json").status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/api/v1/institutions/USTC/invitations/", {"email": "x@ustc.edu.cn"}, format="json")
    key = re.search(r"/invitations/([\w-]+)/", mail.outbox[-1].body).group(1)
    anonymous = world.client(None)
    weak = anonymous.post("/api/v1/invitations/accept/", {"key": key, "username": "x", "password": "1"}, format="json")
    assert weak.status_code == 400
    taken = anonymous.post(
        "/api/v1/invitations/accept/", {"key": key, "username": "res", "password": "a long pass phrase"}, format="json"
    )
    assert taken.status_code == 400
    Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    expired = anonymous.post(
        "/api/v1/invitations/accept/", {"key": key, "username": "x", "password": "a long pass phrase"}, format="json"
    )
    assert expired.status_code == 400
    bogus = anonymous.post("/api/v1/invitations/accept/", {"key": "nothing"}, format="json")
    assert bogus.status_code == 400
    assert not User.objects.filter(username="x").exists()
    # A signed-in person accepts for their own account.
    Invitation.objects.update(expires_at=timezone.now() + dt.timedelta(days=1))
    mine = world.client(world.outsider).post("/api/v1/invitations/accept/", {"key": key}, format="json")
    assert mine.status_code == 201
    assert Membership.objects.filter(user=world.outsider, institution=world.ustc, role="researcher").exists()
