"""The institution administrator's page, the invitation link, and research group pages."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from booking.models import Booking
from facilities.models import GroupHourLimit, GroupMember, Membership, ResearchGroup, User
from facilities.models.tenants import Role

from .factories.facilities import UserFactory, member
from .test_frontend_pages import local_input

H = dt.timedelta(hours=1)


@pytest.fixture
def ustc_admin(world):
    admin = UserFactory(username="ua", first_name="Qiang", last_name="Zhao")
    member(admin, world.ustc, Role.INSTITUTION_ADMIN)
    return admin


def signed_in(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_only_the_institutions_administrators_open_its_people_page(world, ustc_admin):
    url = reverse("frontend:people", args=["USTC"])
    zju_admin = UserFactory(username="za")
    member(zju_admin, world.zju, Role.INSTITUTION_ADMIN)
    for refused in (world.researcher, world.finance, world.manager, zju_admin):
        assert signed_in(refused).get(url).status_code == 403
    assert Client().get(url).status_code == 302
    page = signed_in(ustc_admin).get(url)
    assert page.status_code == 200
    text = page.content.decode()
    shown = set(re.findall(r'id="membership-(\d+)"', text))
    assert shown == {str(pk) for pk in Membership.objects.filter(institution=world.ustc).values_list("pk", flat=True)}
    assert "USTC-G1" in text and "ZJU-G1" not in text
    assert signed_in(ustc_admin).get(reverse("frontend:people_home")).url == url
    assert "<script>" not in text and " onclick=" not in text


def test_an_administrator_invites_and_the_new_member_books(
    world, ustc_admin, tomorrow_9, django_capture_on_commit_callbacks
):
    admin = signed_in(ustc_admin)
    with django_capture_on_commit_callbacks(execute=True):
        r = admin.post(
            reverse("frontend:people_invite", args=["USTC"]),
            {"invite-email": "li.na@ustc.edu.cn", "invite-role": "researcher"},
        )
    assert r.status_code == 302
    link = re.search(r"https?://[^/]+(/invitations/[\w-]+/)", mail.outbox[-1].body).group(1)
    newcomer = Client()
    assert newcomer.get(link).status_code == 200
    r = newcomer.post(link, {"username": "li.na", "password": "a long enough pass phrase"})
    assert r.status_code == 302
    li = User.objects.get(username="li.na")
    assert Membership.objects.filter(user=li, institution=world.ustc, role="researcher").exists()
    # The administrator lets her charge the grant (API), then she books through the booking form.
    world.client(ustc_admin).put(
        f"/api/v1/accounts/{world.researcher_account.pk}/members/", {"usernames": ["li.na"]}, format="json"
    )
    r = newcomer.post(
        reverse("frontend:book", args=[world.instrument.pk]),
        {
            "start": local_input(tomorrow_9),
            "end": local_input(tomorrow_9 + H),
            f"split_{world.researcher_account.pk}": "100",
        },
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200, r.content
    assert Booking.objects.filter(requester=li).count() == 1


def test_grant_revoke_and_deactivate_on_the_page(world, ustc_admin):
    admin = signed_in(ustc_admin)
    r = admin.post(reverse("frontend:people_grant", args=["USTC"]), {"grant-username": "out", "grant-role": "finance"})
    assert r.status_code == 302
    given = Membership.objects.get(user=world.outsider, institution=world.ustc)
    bad = admin.post(
        reverse("frontend:people_grant", args=["USTC"]),
        {"grant-username": "res", "grant-role": "facility_manager", "grant-facilities": "FAC"},
    )
    assert bad.status_code == 400 and "facilities this institution hosts" in bad.content.decode()
    assert admin.post(reverse("frontend:people_revoke", args=["USTC", given.pk])).status_code == 302
    assert not Membership.objects.filter(pk=given.pk).exists()
    assert admin.post(reverse("frontend:people_deactivate", args=["USTC"]), {"username": "res"}).status_code == 302
    assert not User.objects.get(pk=world.researcher.pk).is_active
    # Another institution's administrator can do none of it.
    zju_admin = UserFactory(username="za")
    member(zju_admin, world.zju, Role.INSTITUTION_ADMIN)
    other = signed_in(zju_admin)
    r = other.post(reverse("frontend:people_deactivate", args=["USTC"]), {"username": "fin"})
    assert r.status_code == 403 and User.objects.get(pk=world.finance.pk).is_active


def test_the_group_page_for_its_leader_members_and_no_one_else(world, tomorrow_9):
    student = UserFactory(username="stu")
    member(student, world.ustc, Role.RESEARCHER)
    group = ResearchGroup.objects.create(name="Zhang lab", institution=world.ustc, leader=world.researcher)
    GroupMember.objects.create(group=group, user=student)
    GroupHourLimit.objects.create(group=group, instrument=world.instrument, period="month", max_hours=3)
    url = reverse("frontend:group", args=[group.pk])
    page = signed_in(world.researcher).get(url).content.decode()
    assert "Zhang lab" in page and "stu" in page and "BL1" in page and "Add a member" in page
    assert "Add a member" not in signed_in(student).get(url).content.decode()
    assert signed_in(world.outsider).get(url).status_code == 404
    assert signed_in(student).post(url, {"username": "out", "kind": "staff"}).status_code == 400
    assert signed_in(world.researcher).post(url, {"username": "out", "kind": "staff"}).status_code == 302
    assert GroupMember.objects.filter(group=group, user=world.outsider, kind="staff").exists()
    listing = signed_in(student).get(reverse("frontend:groups")).content.decode()
    assert "Zhang lab" in listing


def test_a_group_limit_refuses_on_the_booking_form_with_its_name(world, tomorrow_9):
    group = ResearchGroup.objects.create(name="Zhang lab", institution=world.ustc, leader=world.researcher)
    GroupHourLimit.objects.create(group=group, instrument=world.instrument, period="quarter", max_hours=1)
    r = signed_in(world.researcher).post(
        reverse("frontend:book", args=[world.instrument.pk]),
        {
            "start": local_input(tomorrow_9),
            "end": local_input(tomorrow_9 + 2 * H),
            f"split_{world.researcher_account.pk}": "100",
        },
        HTTP_HX_REQUEST="true",
    )
    assert "Group limit" in r.content.decode() and "Zhang lab" in r.content.decode()
    assert not Booking.objects.exists()


def test_a_used_invitation_link_says_so(world, ustc_admin):
    r = Client().post("/invitations/nothing-here/", {"username": "x", "password": "a long enough pass phrase"})
    assert r.status_code == 400 and "unknown, used or expired" in r.content.decode()
    assert not User.objects.filter(username="x").exists()
