"""Local accounts: people and companies register with a verified e-mail address; an institution's e-mail
domain matches them to it; /login/ and /password/reset/ stay the one sign-in and reset pages."""

import re

import pytest
from django.core import mail
from django.test import Client
from stdnum.cn import uscc

from facilities.models import CompanyRegistration, InstitutionDomain, JoinPolicy, JoinRequest, Membership, User
from facilities.models.tenants import Role

pytestmark = pytest.mark.django_db
PASSWORD = "violet-harbour-quartz"
BODY = "91320412MA1XYW7Q0"
CODE = BODY + uscc.calc_check_digit(BODY)


@pytest.fixture
def domains(world, settings):
    settings.SITE_URL = "https://sanjiao.example"
    InstitutionDomain.objects.create(institution=world.ustc, domain="ustc.edu.cn")
    InstitutionDomain.objects.create(institution=world.zju, domain="zju.edu.cn")
    world.zju.join_policy = JoinPolicy.AUTOMATIC
    world.zju.save()


def register(client: Client, username: str, email: str, **extra):
    body = {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD, "kind": "person"}
    return client.post("/accounts/signup/", {**body, **extra})


def confirmation_path(email: str) -> str:
    [message] = [m for m in mail.outbox if m.to == [email]]
    found = re.search(r"https://sanjiao\.example(/accounts/confirm-email/\S+/)", message.body)
    assert found is not None, message.body
    return found.group(1)


def test_the_sign_up_page_asks_for_a_person_or_a_company(world):
    page = Client().get("/accounts/signup/")
    assert page.status_code == 200
    html = page.content.decode()
    for field in ("id_username", "id_email", "id_password1", "id_kind_0", "id_company_name", "id_credit_code"):
        assert f'id="{field}"' in html, field
    assert "style=" not in html and "<script>" not in html


def test_a_verified_institution_address_asks_to_join_and_the_person_waits(world, domains):
    client = Client()
    response = register(client, "li.na", "li.na@mail.ustc.edu.cn")
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(username="li.na")
    assert not JoinRequest.objects.filter(user=user).exists()  # not before the address is verified

    # Until then no sign-in, on the page or for an API token, even with the right password.
    refused = Client().post("/login/", {"username": "li.na", "password": PASSWORD})
    assert refused.status_code == 200 and "Confirm your e-mail address first" in refused.content.decode()
    token = Client().post("/api/v1/auth/token/", {"username": "li.na", "password": PASSWORD})
    assert token.status_code == 400 and "Confirm your e-mail address" in token.content.decode()

    path = confirmation_path("li.na@mail.ustc.edu.cn")
    assert "Confirm that li.na@mail.ustc.edu.cn is your address" in client.get(path).content.decode()
    confirmed = client.post(path)
    assert confirmed.status_code == 302
    [join_request] = JoinRequest.objects.filter(user=user)
    assert (join_request.institution, join_request.via, join_request.state) == (
        world.ustc,
        JoinRequest.Via.EMAIL_DOMAIN,
        JoinRequest.State.PENDING,
    )
    assert not Membership.objects.filter(user=user).exists()
    # Signed in by the confirmation in the same browser; the account page says what is awaited.
    welcome = client.get("/welcome/")
    assert welcome.status_code == 200
    assert "awaiting confirmation by its administrators" in welcome.content.decode()
    assert Client().post("/login/", {"username": "li.na", "password": PASSWORD}).status_code == 302


def test_an_automatic_institution_makes_the_verified_person_a_researcher(world, domains):
    client = Client()
    register(client, "wang.fei", "wang.fei@zju.edu.cn")
    client.post(confirmation_path("wang.fei@zju.edu.cn"))
    user = User.objects.get(username="wang.fei")
    assert Membership.objects.filter(user=user, institution=world.zju, role=Role.RESEARCHER).exists()


def test_an_address_elsewhere_joins_nothing(world, domains):
    client = Client()
    register(client, "visitor", "visitor@example.com")
    client.post(confirmation_path("visitor@example.com"))
    assert not JoinRequest.objects.exists()
    page = client.get("/welcome/").content.decode()
    assert "you do not belong to an institution yet" in page


def test_a_company_registers_with_a_checked_code_and_awaits_approval(world, domains):
    client = Client()
    company = {"kind": "company", "company_name": "Acme Lab", "credit_code": BODY + "0", "province": "jiangsu"}
    if CODE.endswith("0"):
        company["credit_code"] = BODY + "1"
    bad = register(client, "acme.lab", "ops@acme.example", **company)
    assert bad.status_code == 200 and "GB 32100-2015" in bad.content.decode()
    assert not User.objects.filter(username="acme.lab").exists()
    missing = register(client, "acme.lab", "ops@acme.example", kind="company")
    assert "registered name" in missing.content.decode()

    assert register(client, "acme.lab", "ops@acme.example", **{**company, "credit_code": CODE}).status_code == 302
    registration = CompanyRegistration.objects.get(user__username="acme.lab")
    assert (registration.company_name, registration.credit_code, registration.state) == ("Acme Lab", CODE, "pending")
    client.post(confirmation_path("ops@acme.example"))
    page = client.get("/welcome/").content.decode()
    assert "Awaiting approval" in page and CODE in page
    # The same code again is refused on the form.
    again = register(Client(), "acme.two", "two@acme.example", **{**company, "credit_code": CODE.lower()})
    assert "already registered" in again.content.decode()


def test_one_sign_in_page_and_one_reset_flow(world):
    response = Client().get("/accounts/login/?next=/catalog/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/catalog/"
    assert Client().get("/accounts/password/reset/")["Location"] == "/password/reset/"
    assert "/accounts/signup/" in Client().get("/login/").content.decode()


def test_people_made_by_administrators_sign_in_as_before(world):
    response = Client().post("/login/", {"username": "res", "password": "pw-123456"})
    assert response.status_code == 302
