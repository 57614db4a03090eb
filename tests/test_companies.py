"""Companies register, a platform administrator approves them, and only then may they book."""

import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from stdnum.cn import uscc

from booking.models import Booking
from facilities.companies import company_approve, company_decline, company_register, validate_credit_code
from facilities.models import CompanyRegistration, Institution, Membership
from facilities.models.tenants import Role

from .factories.facilities import UserFactory

pytestmark = pytest.mark.django_db
BODY = "91320412MA1XYW7Q0"  # a Changzhou company: 32 04 12
CODE = BODY + uscc.calc_check_digit(BODY)


def test_the_check_character_of_gb_32100_is_checked():
    assert validate_credit_code(f" {CODE[:9].lower()} {CODE[9:]}") == CODE
    wrong = BODY + ("0" if CODE[-1] != "0" else "1")
    with pytest.raises(ValidationError, match="last character should be"):
        validate_credit_code(wrong)
    with pytest.raises(ValidationError, match="18 characters"):
        validate_credit_code(CODE[:17])
    with pytest.raises(ValidationError, match="not a unified social credit code"):
        validate_credit_code("91I20412MA1XYZ7Q0X")


@pytest.fixture
def acme(world):
    person = UserFactory(username="acme", email="acme@acme.example")
    return company_register(user=person, company_name="  Acme   Lab Co., Ltd. ", credit_code=CODE, province="jiangsu")


def test_a_registered_company_awaits_approval_and_may_not_book(world, acme, tomorrow_9, client):
    assert acme.state == CompanyRegistration.State.PENDING and acme.company_name == "Acme Lab Co., Ltd."
    body = {
        "instrument": world.instrument.pk,
        "start": tomorrow_9.isoformat(),
        "end": (tomorrow_9 + dt.timedelta(hours=1)).isoformat(),
    }
    response = world.client(acme.user).post("/api/v1/bookings/", body, format="json")
    assert response.status_code == 403
    assert "awaits approval" in response.json()["detail"] and "Acme Lab" in response.json()["detail"]
    client.force_login(acme.user)
    page = client.get(f"/instruments/{world.instrument.pk}/")
    assert "awaits approval by a platform administrator" in page.content.decode()
    with_zh = world.client(acme.user).post("/api/v1/bookings/", body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "平台管理员" in with_zh.json()["detail"]
    assert not Booking.objects.exists()


def test_one_registration_per_code(world, acme):
    with pytest.raises(ValidationError, match="already registered"):
        company_register(user=UserFactory(username="other"), company_name="Other", credit_code=CODE.lower())
    with pytest.raises(ValidationError):
        company_register(user=acme.user, company_name="Again", credit_code=CODE)


def test_approval_makes_the_company_an_institution_its_registrant_a_researcher_and_booking_works(
    world, acme, tomorrow_9, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        approved = company_approve(actor=world.admin, registration=acme)
    institution = approved.institution
    assert (institution.kind, institution.name, institution.province) == (
        Institution.Kind.COMPANY,
        "Acme Lab Co., Ltd.",
        "jiangsu",
    )
    assert Membership.objects.filter(user=acme.user, institution=institution, role=Role.RESEARCHER).exists()
    acme.user.refresh_from_db()
    assert acme.user.default_account.institution == institution
    assert mail.outbox[-1].to == ["acme@acme.example"] and "approved" in mail.outbox[-1].subject
    body = {
        "instrument": world.instrument.pk,
        "start": tomorrow_9.isoformat(),
        "end": (tomorrow_9 + dt.timedelta(hours=1)).isoformat(),
    }
    assert world.client(acme.user).post("/api/v1/bookings/", body, format="json").status_code == 201
    entry = LogEntry.objects.get_for_object(approved).get(action=LogEntry.Action.UPDATE)
    assert entry.actor == world.admin and entry.additional_data["institutions"] == [institution.pk]
    with pytest.raises(ValidationError, match="already decided"):
        company_decline(actor=world.admin, registration=acme)


def test_only_a_platform_administrator_decides(world, acme):
    admin_of_ustc = UserFactory(username="ua")
    Membership.objects.create(user=admin_of_ustc, institution=world.ustc, role=Role.INSTITUTION_ADMIN)
    for persona in (admin_of_ustc, world.researcher, acme.user):
        with pytest.raises(PermissionDenied):
            company_approve(actor=persona, registration=acme)
        with pytest.raises(PermissionDenied):
            company_decline(actor=persona, registration=acme)
    assert CompanyRegistration.objects.get(pk=acme.pk).state == CompanyRegistration.State.PENDING


def test_a_declined_company_is_told_why_and_still_may_not_book(world, acme, tomorrow_9):
    company_decline(actor=world.admin, registration=acme, reason="No such company in the registry.")
    body = {
        "instrument": world.instrument.pk,
        "start": tomorrow_9.isoformat(),
        "end": (tomorrow_9 + dt.timedelta(hours=1)).isoformat(),
    }
    response = world.client(acme.user).post("/api/v1/bookings/", body, format="json")
    assert response.status_code == 403 and "was not approved" in response.json()["detail"]


def test_the_admin_action_approves(world, acme, client):
    client.force_login(world.admin)
    response = client.post(
        "/admin/facilities/companyregistration/",
        {"action": "approve", "_selected_action": [acme.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert CompanyRegistration.objects.get(pk=acme.pk).state == CompanyRegistration.State.APPROVED
    # Approving again says why not, and changes nothing.
    response = client.post(
        "/admin/facilities/companyregistration/", {"action": "approve", "_selected_action": [acme.pk]}, follow=True
    )
    assert "already decided" in response.content.decode()
