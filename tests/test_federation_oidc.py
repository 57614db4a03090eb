"""OpenID Connect sign-in against a provider stub answering allauth's HTTP calls in the test process
(discovery, token, JWKS, userinfo), with ID tokens signed by a test key (federation/testidp.py). A signed
token signs the person in and finds their institution; a wrong signature, audience or expiry is refused."""

import json
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.test import Client

from facilities.models import InstitutionDomain, JoinRequest, User
from federation import testidp
from federation.adapter import FederatedSignInAdapter

ISSUER = "https://oidc.test.example"
CLIENT_ID = "sanjiao"
PERSON = testidp.Person("hui.liu", "刘慧 Liu Hui", "faculty@zju.edu.cn", "hui.liu@zju.edu.cn")


@pytest.fixture(scope="module")
def keys() -> testidp.KeyPair:
    return testidp.new_key_pair()


@pytest.fixture(scope="module")
def wrong_keys() -> testidp.KeyPair:
    return testidp.new_key_pair("not the provider")


class Stub(requests.adapters.BaseAdapter):
    """The provider's endpoints; `id_token` is what the token endpoint hands out."""

    def __init__(self, keys: testidp.KeyPair, claims: dict, id_token: str):
        super().__init__()
        self.keys, self.claims, self.id_token = keys, claims, id_token
        self.calls: list[str] = []

    def send(self, request, **kwargs):
        path = urlparse(request.url).path
        self.calls.append(path)
        body: dict = {}
        if path == "/.well-known/openid-configuration":
            body = testidp.discovery(ISSUER)
        elif path == "/token/":
            assert request.method == "POST" and "code=the-code" in request.body
            body = {"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": self.id_token}
        elif path == "/jwks/":
            body = testidp.jwks(self.keys)
        elif path == "/userinfo/":
            body = self.claims
        response = requests.Response()
        response.status_code = 200 if body else 404
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        response.url, response.request = request.url, request
        return response

    def close(self):
        pass


@pytest.fixture
def provider(db, world, monkeypatch, keys):
    InstitutionDomain.objects.create(institution=world.zju, domain="zju.edu.cn")
    app = SocialApp.objects.create(
        provider="openid_connect",
        provider_id="zju-oidc",
        name="ZJU OpenID Connect",
        client_id=CLIENT_ID,
        secret="s3cret",
        settings={"server_url": ISSUER},
    )

    def install(id_token: str, claims: dict | None = None) -> Stub:
        stub = Stub(keys, claims or testidp.claims_of(PERSON), id_token)

        def session(self):
            s = requests.Session()
            s.mount(ISSUER, stub)
            return s

        monkeypatch.setattr(FederatedSignInAdapter, "get_requests_session", session)
        return stub

    return app, install


def sign_in(client: Client, app: SocialApp):
    started = client.post(f"/accounts/oidc/{app.provider_id}/login/", {"process": "login"})
    assert started.status_code == 302 and started["Location"].startswith(f"{ISSUER}/authorize/")
    query = parse_qs(urlparse(started["Location"]).query)
    assert query["client_id"] == [CLIENT_ID]
    return client.get(
        f"/accounts/oidc/{app.provider_id}/login/callback/", {"code": "the-code", "state": query["state"][0]}
    )


def token(provider_keys, **changes) -> str:
    options = {"issuer": ISSUER, "audience": CLIENT_ID, "keys": provider_keys, **changes}
    return testidp.id_token(testidp.claims_of(PERSON), **options)


def test_a_signed_id_token_signs_a_new_person_in_at_their_email_domains_institution(client, provider, keys, world):
    app, install = provider
    stub = install(token(keys))
    response = sign_in(client, app)
    assert response.status_code == 302, response.content[:800]
    assert "/jwks/" in stub.calls  # the signature was checked against the provider's keys
    user = User.objects.get(pk=client.session["_auth_user_id"])
    assert user.email == PERSON.email and not user.has_usable_password()
    assert SocialAccount.objects.get(user=user).uid == "sub-hui.liu"
    join = JoinRequest.objects.get(user=user)
    assert (join.institution, join.via) == (world.zju, JoinRequest.Via.FEDERATED)


def test_the_providers_institution_code_wins_over_the_email_domain(client, provider, keys, world):
    app, install = provider
    app.settings = {**app.settings, "institution": "USTC"}
    app.save()
    install(token(keys))
    assert sign_in(client, app).status_code == 302
    assert JoinRequest.objects.get().institution == world.ustc


@pytest.mark.parametrize("case", ["wrong signature", "wrong audience", "expired", "wrong issuer"])
def test_an_id_token_that_does_not_hold_is_refused(client, provider, keys, wrong_keys, case):
    app, install = provider
    changes = {
        "wrong signature": {"keys": wrong_keys},
        "wrong audience": {"audience": "someone-else"},
        "expired": {"lifetime": -600},
        "wrong issuer": {"issuer": "https://evil.example"},
    }[case]
    install(token(keys, **changes))
    response = sign_in(client, app)
    assert response.status_code == 400
    assert 'data-reason="invalid_response"' in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(email=PERSON.email).exists() and not SocialAccount.objects.exists()


def test_an_unverified_address_names_no_institution(client, provider, keys):
    app, install = provider
    claims = testidp.claims_of(PERSON, verified=False)
    install(testidp.id_token(claims, issuer=ISSUER, audience=CLIENT_ID, keys=keys), claims)
    response = sign_in(client, app)
    assert response.status_code == 403 and 'data-reason="unknown_institution"' in response.content.decode()
    assert not User.objects.filter(email=PERSON.email).exists()
