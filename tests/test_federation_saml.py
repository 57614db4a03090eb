"""SAML sign-in through a federation, with an identity provider in the test process (federation/testidp.py):
responses signed with a test key are POSTed to the one assertion consumer service. A signed assertion
signs the person in and maps institution, affiliation and pricing class; unsigned, wrongly signed,
expired, replayed, wrong-audience and unsolicited ones are refused with a page that says so."""

import datetime as dt
from urllib.parse import parse_qs, urlparse

import pytest
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.conf import settings
from django.test import Client
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from billing.services.rates import user_class_for
from facilities.models import InstitutionDomain, JoinRequest, Membership, User
from facilities.models.tenants import JoinPolicy, Role
from federation import services, testidp
from federation.models import SeenAssertion

IDP = "https://idp.test.example/idp/shibboleth"
SSO = "https://idp.test.example/idp/profile/SAML2/Redirect/SSO"
ACS = "http://testserver/federation/saml/acs/"


@pytest.fixture(scope="session")
def idp_keys() -> testidp.KeyPair:
    return testidp.new_key_pair()


@pytest.fixture(scope="session")
def other_keys() -> testidp.KeyPair:
    return testidp.new_key_pair("someone else")


@pytest.fixture
def idp(db, world, idp_keys) -> SocialApp:
    InstitutionDomain.objects.create(institution=world.ustc, domain="ustc.edu.cn")
    InstitutionDomain.objects.create(institution=world.zju, domain="zju.edu.cn")
    metadata = testidp.federation_metadata(entity_id=IDP, sso_url=SSO, keys=idp_keys)
    services.sync_identity_providers(providers=services.parse_metadata(metadata))
    return SocialApp.objects.get(provider="saml")


def start(client: Client, app: SocialApp, process: str = "login") -> str:
    """Start a sign-in as the choose page does; the AuthnRequest's ID, which the answer must name."""
    response = client.post(f"/accounts/saml/{app.client_id}/login/", {"process": process})
    assert response.status_code == 302, response.content[:500]
    location = urlparse(response["Location"])
    assert location.netloc == "idp.test.example"
    request_xml = OneLogin_Saml2_Utils.decode_base64_and_inflate(parse_qs(location.query)["SAMLRequest"][0])
    root = OneLogin_Saml2_XML.to_etree(request_xml)
    assert root.get("AssertionConsumerServiceURL") == ACS
    assert OneLogin_Saml2_XML.query(root, "/samlp:AuthnRequest/saml:Issuer")[0].text == settings.SAML_SP_ENTITY_ID
    return root.get("ID")


def assertion_for(person_key: str, request_id: str | None, **changes) -> testidp.Assertion:
    a = testidp.attributes_of(testidp.person(person_key), issuer=IDP, sp_entity_id=settings.SAML_SP_ENTITY_ID)
    a.acs_url = ACS
    a.in_response_to = request_id
    for name, value in changes.items():
        setattr(a, name, value)
    return a


def answer(client: Client, saml_response: str):
    posted = client.post("/federation/saml/acs/", {"SAMLResponse": saml_response, "RelayState": ""})
    assert posted.status_code == 302 and posted["Location"] == "/federation/saml/acs/finish/"
    return client.get(posted["Location"])


def signed_in(client: Client) -> User | None:
    pk = client.session.get("_auth_user_id")
    return User.objects.get(pk=pk) if pk else None


def test_the_service_provider_publishes_one_metadata_with_one_acs(client, idp):
    response = client.get("/federation/saml/metadata/")
    assert response.status_code == 200
    body = response.content.decode()
    assert f'entityID="{settings.SAML_SP_ENTITY_ID}"' in body
    assert ACS in body and "HTTP-POST" in body


def test_a_signed_assertion_signs_a_new_person_in_and_asks_their_institution(client, idp, idp_keys, world):
    request_id = start(client, idp)
    response = answer(client, testidp.saml_response(assertion_for("xiaoming.wang", request_id), sign_with=idp_keys))
    assert response.status_code == 302, response.content[:1000]
    user = signed_in(client)
    assert user is not None and not user.has_usable_password()
    assert user.email == "xiaoming.wang@mail.ustc.edu.cn"
    assert "王小明" in user.get_full_name()
    account = SocialAccount.objects.get(user=user)
    assert account.uid == f"{IDP}!tid-xiaoming.wang"  # the targeted id, scoped by its issuer
    assert account.extra_data["federation"]["scope"] == "ustc.edu.cn"
    join = JoinRequest.objects.get(user=user)
    assert (join.institution, join.via, join.affiliation) == (world.ustc, JoinRequest.Via.FEDERATED, "student")
    # USTC confirms its people (the default policy): the membership waits for an administrator.
    assert join.state == JoinRequest.State.PENDING
    assert not Membership.objects.filter(user=user).exists()
    # Pricing follows the institution: a USTC person at SARI's facility is an external academic.
    assert user_class_for(institution=join.institution, facility=world.facility) == "external_academic"

    # The next sign-in finds the same person; nothing new is made.
    client.logout()
    request_id = start(client, idp)
    answer(client, testidp.saml_response(assertion_for("xiaoming.wang", request_id), sign_with=idp_keys))
    assert signed_in(client) == user
    assert User.objects.filter(email=user.email).count() == 1 and JoinRequest.objects.filter(user=user).count() == 1


def test_an_automatic_policy_makes_the_researcher_at_once(client, idp, idp_keys, world):
    world.zju.join_policy = JoinPolicy.AUTOMATIC
    world.zju.save()
    request_id = start(client, idp)
    answer(client, testidp.saml_response(assertion_for("hui.liu", request_id), sign_with=idp_keys))
    user = signed_in(client)
    assert Membership.objects.filter(user=user, institution=world.zju, role=Role.RESEARCHER).exists()
    assert JoinRequest.objects.get(user=user).affiliation == "faculty"


def test_the_home_organisation_names_the_institution_without_an_affiliation(client, idp, idp_keys, world):
    request_id = start(client, idp)
    a = assertion_for("hui.liu", request_id)
    del a.attributes[testidp.SCOPED_AFFILIATION[0]]
    answer(client, testidp.saml_response(a, sign_with=idp_keys))
    assert JoinRequest.objects.get(user=signed_in(client)).institution == world.zju


def _refused(response, reason: str, status: int = 400) -> None:
    assert response.status_code == status, response.content[:500]
    assert f'data-reason="{reason}"' in response.content.decode()


@pytest.mark.parametrize(
    "case",
    ["unsigned", "wrongly signed", "expired", "wrong audience", "wrong recipient"],
)
def test_untrustworthy_assertions_are_refused(client, idp, idp_keys, other_keys, case):
    request_id = start(client, idp)
    a = assertion_for("xiaoming.wang", request_id)
    keys = idp_keys
    if case == "unsigned":
        keys = None
    elif case == "wrongly signed":
        keys = other_keys
    elif case == "expired":
        a.issued = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
    elif case == "wrong audience":
        a.audience = "https://another-service.example/shibboleth"
    elif case == "wrong recipient":
        a.acs_url = "https://another-service.example/Shibboleth.sso/SAML2/POST"
    response = answer(client, testidp.saml_response(a, sign_with=keys))
    _refused(response, "invalid_response")
    assert signed_in(client) is None
    assert not SocialAccount.objects.exists() and not JoinRequest.objects.exists()


def test_a_tampered_assertion_is_refused(client, idp, idp_keys):
    request_id = start(client, idp)
    import base64

    xml = base64.b64decode(testidp.saml_response(assertion_for("xiaoming.wang", request_id), sign_with=idp_keys))
    tampered = xml.replace(b"student@ustc.edu.cn", b"faculty@ustc.edu.cn")
    _refused(answer(client, base64.b64encode(tampered).decode()), "invalid_response")


def test_a_replayed_assertion_is_refused(client, idp, idp_keys):
    request_id = start(client, idp)
    response_b64 = testidp.saml_response(assertion_for("xiaoming.wang", request_id), sign_with=idp_keys)
    assert answer(client, response_b64).status_code == 302
    assert SeenAssertion.objects.count() == 1
    # Captured and sent again, from another browser that started a sign-in of its own.
    other = Client()
    start(other, idp)
    _refused(answer(other, response_b64), "replayed")
    assert signed_in(other) is None


def test_an_unsolicited_answer_is_refused(client, idp, idp_keys):
    response = answer(client, testidp.saml_response(assertion_for("xiaoming.wang", None), sign_with=idp_keys))
    _refused(response, "not_started_here")
    # An answer to a sign-in started in another browser is refused too.
    other = Client()
    request_id = start(other, idp)
    response = answer(client, testidp.saml_response(assertion_for("xiaoming.wang", request_id), sign_with=idp_keys))
    _refused(response, "not_started_here")
    assert not SocialAccount.objects.exists()


def test_an_unknown_identity_provider_and_garbage_are_refused(client, idp, idp_keys):
    request_id = start(client, idp)
    a = assertion_for("xiaoming.wang", request_id, issuer="https://rogue.example/idp")
    _refused(answer(client, testidp.saml_response(a, sign_with=idp_keys)), "unknown_provider")
    _refused(answer(client, "not base64 at all!"), "unknown_provider")
    assert client.get("/federation/saml/acs/finish/").status_code == 400


def test_an_unknown_institution_gets_a_clear_page_and_nothing_is_made(client, idp, idp_keys):
    request_id = start(client, idp)
    response = answer(client, testidp.saml_response(assertion_for("guest.visitor", request_id), sign_with=idp_keys))
    _refused(response, "unknown_institution", status=403)
    assert "not on Sanjiao yet" in response.content.decode()
    assert signed_in(client) is None
    assert not User.objects.filter(email="guest@example.edu").exists() and not SocialAccount.objects.exists()


def test_a_scope_the_metadata_does_not_list_names_no_institution(client, db, world, idp_keys):
    """An identity provider speaks only for its own scopes: one listing only example.edu cannot make
    someone a USTC member by releasing student@ustc.edu.cn."""
    InstitutionDomain.objects.create(institution=world.ustc, domain="ustc.edu.cn")
    metadata = testidp.federation_metadata(entity_id=IDP, sso_url=SSO, keys=idp_keys, scopes=["example.edu"])
    services.sync_identity_providers(providers=services.parse_metadata(metadata))
    app = SocialApp.objects.get(provider="saml")
    request_id = start(client, app)
    response = answer(client, testidp.saml_response(assertion_for("xiaoming.wang", request_id), sign_with=idp_keys))
    _refused(response, "unknown_institution", status=403)


def test_an_identity_without_a_lasting_id_is_refused(client, idp, idp_keys):
    request_id = start(client, idp)
    a = assertion_for("xiaoming.wang", request_id, targeted_id="")  # only a transient NameID is left
    _refused(answer(client, testidp.saml_response(a, sign_with=idp_keys)), "no_stable_id")


def test_a_persistent_nameid_is_a_lasting_id(client, idp, idp_keys):
    request_id = start(client, idp)
    a = assertion_for("xiaoming.wang", request_id, targeted_id="", name_id="p-123", name_id_format=testidp.PERSISTENT)
    assert answer(client, testidp.saml_response(a, sign_with=idp_keys)).status_code == 302
    assert SocialAccount.objects.get().uid == f"{IDP}!p-123"


def test_an_address_of_an_existing_account_is_not_taken_over(client, idp, idp_keys, world):
    world.researcher.email = "xiaoming.wang@mail.ustc.edu.cn"
    world.researcher.save()
    request_id = start(client, idp)
    response = answer(client, testidp.saml_response(assertion_for("xiaoming.wang", request_id), sign_with=idp_keys))
    _refused(response, "email_taken", status=409)
    assert not SocialAccount.objects.exists() and signed_in(client) is None


def test_a_signed_in_person_links_their_institution_sign_in_and_sees_it(client, idp, idp_keys, world):
    world.researcher.email = "xiaoming.wang@mail.ustc.edu.cn"
    world.researcher.save()
    client.force_login(world.researcher)
    request_id = start(client, idp, process="connect")
    response = answer(client, testidp.saml_response(assertion_for("xiaoming.wang", request_id), sign_with=idp_keys))
    assert response.status_code == 302 and response["Location"] == "/federation/sign-ins/"
    assert SocialAccount.objects.get().user == world.researcher
    assert not JoinRequest.objects.exists()  # already a USTC researcher: nothing to ask
    page = client.get("/federation/sign-ins/")
    assert page.status_code == 200
    assert "Test University" in page.content.decode() and "student@ustc.edu.cn" in page.content.decode()
    # From now on the institution's sign-in signs them in.
    client.logout()
    request_id = start(client, idp)
    answer(client, testidp.saml_response(assertion_for("xiaoming.wang", request_id), sign_with=idp_keys))
    assert signed_in(client) == world.researcher


def test_one_sees_only_ones_own_linked_identities(client, idp, idp_keys, world):
    request_id = start(client, idp)
    answer(client, testidp.saml_response(assertion_for("xiaoming.wang", request_id), sign_with=idp_keys))
    other = Client()
    other.force_login(world.outsider)
    page = other.get("/federation/sign-ins/").content.decode()
    assert "student@ustc.edu.cn" not in page and "No institution sign-in is linked" in page
    anonymous = Client().get("/federation/sign-ins/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")


def test_ones_data_export_holds_the_linked_identity_and_anonymising_removes_it(client, idp, idp_keys, world):
    from facilities.services import person_anonymise

    request_id = start(client, idp)
    answer(client, testidp.saml_response(assertion_for("xiaoming.wang", request_id), sign_with=idp_keys))
    user = signed_in(client)
    (identity,) = client.get("/api/v1/me/data/").json()["linked_identities"]
    assert identity["uid"] == f"{IDP}!tid-xiaoming.wang"
    assert identity["released"]["federation"]["affiliation"] == "student"
    assert world.outsider.pk != user.pk and Client().get("/api/v1/me/data/").status_code in (401, 403)
    person_anonymise(actor=world.admin, user_id=user.pk)
    assert not SocialAccount.objects.filter(user=user).exists()
    # The same identity provider's answer now makes nobody and signs nobody in as the former person.
    client.logout()
    request_id = start(client, idp)
    answer(client, testidp.saml_response(assertion_for("xiaoming.wang", request_id), sign_with=idp_keys))
    assert signed_in(client) != user


def test_the_sign_ins_page_costs_a_fixed_number_of_queries(client, idp, idp_keys, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    request_id = start(client, idp)
    answer(client, testidp.saml_response(assertion_for("xiaoming.wang", request_id), sign_with=idp_keys))
    with CaptureQueriesContext(connection) as one:
        assert client.get("/federation/sign-ins/").status_code == 200
    user = signed_in(client)
    for n in range(3):
        SocialAccount.objects.create(user=user, provider="saml", uid=f"{IDP}!extra-{n}", extra_data={})
    with CaptureQueriesContext(connection) as four:
        client.get("/federation/sign-ins/")
    assert len(four) == len(one)


def test_allauths_own_saml_endpoints_are_closed(client, idp, idp_keys):
    request_id = start(client, idp)
    response_b64 = testidp.saml_response(assertion_for("xiaoming.wang", request_id), sign_with=idp_keys)
    for part in ("acs", "acs/finish", "sls", "metadata"):
        r = client.post(f"/accounts/saml/{idp.client_id}/{part}/", {"SAMLResponse": response_b64})
        assert r.status_code == 404, part
    assert signed_in(client) is None and not SocialAccount.objects.exists()


def test_an_identity_linked_to_someone_else_is_not_linked_again(client, idp, idp_keys, world):
    request_id = start(client, idp)
    answer(client, testidp.saml_response(assertion_for("xiaoming.wang", request_id), sign_with=idp_keys))
    owner = signed_in(client)
    other = Client()
    other.force_login(world.outsider)
    request_id = start(other, idp, process="connect")
    response = answer(other, testidp.saml_response(assertion_for("xiaoming.wang", request_id), sign_with=idp_keys))
    assert response.status_code == 302 and response["Location"] == "/federation/sign-ins/"
    assert SocialAccount.objects.get().user == owner
    assert "No institution sign-in is linked" in other.get("/federation/sign-ins/").content.decode()
