"""The demo's test providers under /test-idp/ (FEDERATION_TEST_IDP=true): configured by
`manage.py configure_test_idp`, they sign a person in end to end through the same pages a browser uses.
allauth's server-side OpenID Connect calls are handed to the test client instead of the network."""

import re
from html import unescape
from urllib.parse import urlparse

import pytest
import requests
from allauth.socialaccount.models import SocialApp
from django.core.management import call_command
from django.test import Client

import config.urls  # noqa: F401 - imported here, before a test turns FEDERATION_TEST_IDP on
from facilities.models import InstitutionDomain, JoinRequest, User
from federation.adapter import FederatedSignInAdapter

pytestmark = pytest.mark.urls("tests.federation_test_idp_urls")


@pytest.fixture
def test_idp(db, world, settings, tmp_path):
    settings.FEDERATION_TEST_IDP = True
    settings.SITE_URL = "http://testserver"
    settings.VAR_DIR = tmp_path
    InstitutionDomain.objects.create(institution=world.ustc, domain="ustc.edu.cn")
    InstitutionDomain.objects.create(institution=world.zju, domain="zju.edu.cn")
    call_command("configure_test_idp")


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, page[:2000]
    return unescape(found.group(1))


def test_the_test_saml_provider_signs_a_person_in(test_idp, world):
    client = Client()
    app = SocialApp.objects.get(provider="saml")
    started = client.post(f"/accounts/saml/{app.client_id}/login/", {"process": "login"})
    sso = urlparse(started["Location"])
    assert sso.path == "/test-idp/saml/sso/"
    pick = client.get(f"{sso.path}?{sso.query}").content.decode()
    assert "王小明" in pick
    form = {"SAMLRequest": hidden(pick, "SAMLRequest"), "RelayState": hidden(pick, "RelayState")}
    post = client.post("/test-idp/saml/sso/", {**form, "person": "xiaoming.wang"}).content.decode()
    assert 'action="http://testserver/federation/saml/acs/"' in post
    acs = client.post("/federation/saml/acs/", {"SAMLResponse": hidden(post, "SAMLResponse"), "RelayState": ""})
    assert client.get(acs["Location"]).status_code == 302
    user = User.objects.get(pk=client.session["_auth_user_id"])
    assert JoinRequest.objects.get(user=user).institution == world.ustc


class ToTestClient(requests.adapters.BaseAdapter):
    """requests → the Django test client, for allauth's calls to the test provider's endpoints."""

    def send(self, request, **kwargs):
        url = urlparse(request.url)
        path = url.path + (f"?{url.query}" if url.query else "")
        headers = {"authorization": request.headers["Authorization"]} if "Authorization" in request.headers else {}
        client = Client()
        if request.method == "POST":
            answer = client.post(path, request.body, content_type=request.headers["Content-Type"], headers=headers)
        else:
            answer = client.get(path, headers=headers)
        response = requests.Response()
        response.status_code = answer.status_code
        response._content = answer.content
        response.headers["Content-Type"] = answer["Content-Type"]
        response.url, response.request = request.url, request
        return response

    def close(self):
        pass


def test_the_test_openid_connect_provider_signs_a_person_in(test_idp, world, monkeypatch):
    def session(self):
        s = requests.Session()
        s.mount("http://testserver", ToTestClient())
        return s

    monkeypatch.setattr(FederatedSignInAdapter, "get_requests_session", session)
    client = Client()
    started = client.post("/accounts/oidc/test-oidc/login/", {"process": "login"})
    authorize = urlparse(started["Location"])
    assert authorize.path == "/test-idp/oidc/authorize/"
    pick = client.get(f"{authorize.path}?{authorize.query}").content.decode()
    fields = {name: hidden(pick, name) for name in ("client_id", "redirect_uri", "state", "scope", "response_type")}
    back = client.post("/test-idp/oidc/authorize/", {**fields, "person": "hui.liu"})
    callback = urlparse(back["Location"])
    done = client.get(f"{callback.path}?{callback.query}")
    assert done.status_code == 302, done.content[:500]
    user = User.objects.get(pk=client.session["_auth_user_id"])
    assert user.email == "hui.liu@zju.edu.cn"
    assert JoinRequest.objects.get(user=user).institution == world.zju


def test_the_test_provider_is_not_served_unless_configured(settings):
    import importlib

    from config import urls

    settings.FEDERATION_TEST_IDP = False
    importlib.reload(urls)
    assert not any(str(p.pattern) == "test-idp/" for p in urls.urlpatterns)
    settings.FEDERATION_TEST_IDP = True
    importlib.reload(urls)
    assert str(urls.urlpatterns[0].pattern) == "test-idp/"
    settings.FEDERATION_TEST_IDP = False
    importlib.reload(urls)
