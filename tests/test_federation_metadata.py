"""The federation's metadata: read from a file or URL set in the environment (and refused when the value is
bad), synced idempotently by the scheduled task, with each identity provider choosable on a searchable,
bilingual "choose your institution" page linked from /login/."""

import pytest
from allauth.socialaccount.models import SocialApp
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from config import env
from federation import services, tasks, testidp
from federation.checks import refuse_test_idp
from federation.models import SeenAssertion

IDP = "https://idp.test.example/idp/shibboleth"
SSO = "https://idp.test.example/sso"


@pytest.fixture(scope="module")
def keys() -> testidp.KeyPair:
    return testidp.new_key_pair()


@pytest.fixture
def metadata_file(tmp_path, keys):
    path = tmp_path / "carsi-metadata.xml"
    path.write_text(testidp.federation_metadata(entity_id=IDP, sso_url=SSO, keys=keys))
    return path


def test_the_task_reads_the_file_and_running_it_again_changes_nothing(db, settings, metadata_file):
    settings.FEDERATION_METADATA = str(metadata_file)
    assert tasks.refresh_federation_metadata() == {"added": 1, "updated": 0, "removed": 0, "unchanged": 0}
    app = SocialApp.objects.get(provider="saml")
    assert app.settings["idp"]["entity_id"] == IDP and app.settings["idp"]["sso_url"] == SSO
    assert app.settings["scopes"] == testidp.SCOPES
    assert app.settings["display_names"]["zh-hans"].startswith("测试大学")
    assert tasks.refresh_federation_metadata() == {"added": 0, "updated": 0, "removed": 0, "unchanged": 1}
    assert SocialApp.objects.filter(provider="saml").count() == 1


def test_a_provider_leaving_the_federation_is_removed_and_hand_made_ones_stay(db, settings, tmp_path, keys):
    hand_made = SocialApp.objects.create(provider="saml", client_id="by-hand", name="By hand", settings={"idp": {}})
    first = tmp_path / "a.xml"
    first.write_text(testidp.federation_metadata(entity_id=IDP, sso_url=SSO, keys=keys))
    services.refresh_federation_metadata(source=str(first))
    second = tmp_path / "b.xml"
    second.write_text(testidp.federation_metadata(entity_id="https://other.example/idp", sso_url=SSO, keys=keys))
    assert services.refresh_federation_metadata(source=str(second)) == {
        "added": 1,
        "updated": 0,
        "removed": 1,
        "unchanged": 0,
    }
    ids = set(SocialApp.objects.filter(provider="saml").values_list("settings__idp__entity_id", flat=True))
    assert ids == {"https://other.example/idp", None}
    assert SocialApp.objects.filter(pk=hand_made.pk).exists()


def test_a_changed_certificate_is_updated(db, metadata_file, keys):
    services.refresh_federation_metadata(source=str(metadata_file))
    new = testidp.new_key_pair("rolled over")
    metadata_file.write_text(testidp.federation_metadata(entity_id=IDP, sso_url=SSO, keys=new))
    assert services.refresh_federation_metadata(source=str(metadata_file))["updated"] == 1
    assert SocialApp.objects.get(provider="saml").settings["idp"]["x509cert"] == new.cert_b64


def test_signed_metadata_must_verify_when_a_certificate_is_set(db, settings, tmp_path, keys):
    federation = testidp.new_key_pair("federation operator")
    xml = testidp.federation_metadata(entity_id=IDP, sso_url=SSO, keys=keys)
    signed = OneLogin_Saml2_Utils.add_sign(xml, federation.key_pem, federation.cert_pem)
    cert = tmp_path / "federation.pem"
    cert.write_text(federation.cert_pem)
    settings.FEDERATION_METADATA_CERT = str(cert)
    good = tmp_path / "signed.xml"
    good.write_bytes(signed)
    assert services.refresh_federation_metadata(source=str(good))["added"] == 1
    forged = tmp_path / "forged.xml"
    forged.write_bytes(signed.replace(SSO.encode(), b"https://evil.example/sso"))
    with pytest.raises(ValidationError, match="signature"):
        services.refresh_federation_metadata(source=str(forged))
    unsigned = tmp_path / "unsigned.xml"
    unsigned.write_text(xml)
    with pytest.raises(ValidationError, match="signature"):
        services.refresh_federation_metadata(source=str(unsigned))
    assert SocialApp.objects.get(provider="saml").settings["idp"]["sso_url"] == SSO  # the last good one stays


@pytest.mark.parametrize("document", [b"not xml", b"<a><b></a>", b'<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'])
def test_unreadable_metadata_changes_nothing(db, tmp_path, document):
    path = tmp_path / "bad.xml"
    path.write_bytes(document)
    with pytest.raises(ValidationError):
        services.refresh_federation_metadata(source=str(path))
    assert not SocialApp.objects.exists()


def test_expired_metadata_is_refused(db, tmp_path, keys):
    xml = testidp.federation_metadata(entity_id=IDP, sso_url=SSO, keys=keys).replace(
        'Name="sanjiao-test-federation"', 'Name="sanjiao-test-federation" validUntil="2020-01-01T00:00:00Z"'
    )
    path = tmp_path / "old.xml"
    path.write_text(xml)
    with pytest.raises(ValidationError, match="expired"):
        services.refresh_federation_metadata(source=str(path))


def test_the_refresh_forgets_expired_assertions(db):
    import datetime as dt

    from django.utils import timezone

    SeenAssertion.objects.create(assertion_id="old", issuer=IDP, not_on_or_after=timezone.now() - dt.timedelta(hours=1))
    SeenAssertion.objects.create(assertion_id="new", issuer=IDP, not_on_or_after=timezone.now() + dt.timedelta(hours=1))
    services.refresh_federation_metadata(source="")
    assert list(SeenAssertion.objects.values_list("assertion_id", flat=True)) == ["new"]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("https://ds.carsi.edu.cn/metadata/carsifed-metadata-sha256.xml", True),
        ("/etc/sanjiao/carsi.xml", True),
        ("file:///etc/sanjiao/carsi.xml", True),
        ("carsi.xml", False),
        ("ftp://example.org/x.xml", False),
    ],
)
def test_the_metadata_setting_fails_loudly_on_bad_values(monkeypatch, value, ok):
    monkeypatch.setenv("FEDERATION_METADATA", value)
    if ok:
        assert env.env_source("FEDERATION_METADATA")
    else:
        with pytest.raises(ImproperlyConfigured):
            env.env_source("FEDERATION_METADATA")


def test_a_certificate_setting_must_name_an_existing_file(monkeypatch, tmp_path):
    monkeypatch.setenv("FEDERATION_METADATA_CERT", str(tmp_path / "missing.pem"))
    with pytest.raises(ImproperlyConfigured):
        env.env_file("FEDERATION_METADATA_CERT")
    monkeypatch.setenv("FEDERATION_METADATA_CERT", "")
    assert env.env_file("FEDERATION_METADATA_CERT") == ""


def test_the_refresh_runs_on_a_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["refresh-federation-metadata"]
    assert entry["task"] == "federation.tasks.refresh_federation_metadata"


def test_the_test_provider_is_refused_in_production(settings):
    settings.FEDERATION_TEST_IDP = True
    assert [e.id for e in refuse_test_idp(None)] == ["federation.E001"]
    settings.FEDERATION_TEST_IDP = False
    assert refuse_test_idp(None) == []


# --- choosing one's institution ------------------------------------------------------------------------------


@pytest.fixture
def providers(db, metadata_file, keys, tmp_path):
    services.refresh_federation_metadata(source=str(metadata_file))
    other = tmp_path / "zju.xml"
    other.write_text(
        testidp.federation_metadata(
            entity_id="https://idp.zju.example/idp", sso_url=SSO, keys=keys, scopes=["zju.edu.cn"]
        )
        .replace("Test University (Sanjiao test identity provider)", "Zhejiang University")
        .replace("测试大学（三角测试身份提供者）", "浙江大学")
    )
    services.sync_identity_providers(
        providers=services.parse_metadata(metadata_file.read_text()) + services.parse_metadata(other.read_text())
    )
    SocialApp.objects.create(
        provider="openid_connect",
        provider_id="sjtu",
        name="SJTU jAccount",
        client_id="x",
        settings={
            "server_url": "https://jaccount.example",
            "display_names": {"en": "SJTU jAccount", "zh-hans": "上海交大 jAccount"},
        },
    )


def test_the_choose_page_lists_every_provider_and_searches_in_both_languages(client, providers):
    page = client.get("/federation/choose/").content.decode()
    assert "Zhejiang University" in page and "Test University" in page and "SJTU jAccount" in page
    assert page.count('action="/federation/start/') == 3
    assert "Zhejiang University" in client.get("/federation/choose/", {"q": "zju.edu"}).content.decode()
    found = client.get("/federation/choose/", {"q": "浙江"}).content.decode()
    assert "Zhejiang University" in found and "Test University" not in found
    assert "No institution matches" in client.get("/federation/choose/", {"q": "nowhere"}).content.decode()


def test_the_choose_page_speaks_chinese(providers):
    client = Client(headers={"accept-language": "zh-hans"})
    page = client.get("/federation/choose/").content.decode()
    assert "浙江大学" in page and "选择您的机构" in page


def test_the_choose_page_costs_a_fixed_number_of_queries(client, providers):
    with CaptureQueriesContext(connection) as few:
        client.get("/federation/choose/")
    for n in range(5):
        SocialApp.objects.create(
            provider="openid_connect", provider_id=f"p{n}", name=f"P{n}", client_id="x", settings={}
        )
    with CaptureQueriesContext(connection) as more:
        client.get("/federation/choose/")
    assert len(more) == len(few) <= 4


def test_the_sign_in_page_links_to_the_choice(client, db):
    page = client.get("/login/?next=/me/").content.decode()
    assert 'href="/federation/choose/?next=/me/"' in page


def test_connecting_is_offered_only_to_someone_signed_in(client, providers, world):
    assert 'value="connect"' not in client.get("/federation/choose/?process=connect").content.decode()
    client.force_login(world.researcher)
    assert 'value="connect"' in client.get("/federation/choose/?process=connect").content.decode()


def test_a_next_address_off_the_site_is_dropped(client, providers):
    for off_site in ["https://evil.example/", "//evil.example/"]:
        page = client.get("/federation/choose/", {"next": off_site}).content.decode()
        assert f'name="next" value="{off_site}"' not in page
    assert 'name="next" value="/me/"' in client.get("/federation/choose/", {"next": "/me/"}).content.decode()


def test_configuring_the_test_providers_needs_the_setting(db, settings):
    settings.FEDERATION_TEST_IDP = False
    with pytest.raises(CommandError):
        call_command("configure_test_idp")


@override_settings(FEDERATION_TEST_IDP=True)
def test_configuring_the_test_providers_twice_makes_them_once(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("configure_test_idp")
    call_command("configure_test_idp")
    assert SocialApp.objects.filter(provider="saml").count() == 1
    assert SocialApp.objects.filter(provider="openid_connect", provider_id="test-oidc").count() == 1
    assert (tmp_path / "test-idp" / "key.pem").stat().st_mode & 0o077 == 0


def test_starting_a_sign_in_sends_the_browser_on_from_a_page_of_this_site(client, providers):
    """The form posts to this site: a form answered by a redirect to another site would break the CSP."""
    app = SocialApp.objects.get(settings__idp__entity_id=IDP)
    response = client.post(f"/federation/start/{app.pk}/", {"process": "login", "next": "/me/"})
    assert response.status_code == 200
    page = response.content.decode()
    assert f'id="continue-link" href="{SSO}?SAMLRequest=' in page and "federation/continue.js" in page
    assert client.get(f"/federation/start/{app.pk}/").status_code == 405
    missing = client.post("/federation/start/999999/")
    assert missing.status_code == 404 and 'data-reason="unknown_provider"' in missing.content.decode()


def test_starting_needs_the_csrf_token(providers):
    client = Client(enforce_csrf_checks=True)
    app = SocialApp.objects.get(settings__idp__entity_id=IDP)
    assert client.post(f"/federation/start/{app.pk}/").status_code == 403


def test_an_unreachable_provider_gets_a_page_not_a_500(client, providers, monkeypatch):
    import requests

    from federation.adapter import FederatedSignInAdapter

    class Down(requests.adapters.BaseAdapter):
        def send(self, request, **kwargs):
            raise requests.ConnectionError("down")

        def close(self):
            pass

    def session(self):
        s = requests.Session()
        s.mount("https://", Down())
        return s

    monkeypatch.setattr(FederatedSignInAdapter, "get_requests_session", session)
    app = SocialApp.objects.get(provider_id="sjtu")
    response = client.post(f"/federation/start/{app.pk}/")
    assert response.status_code == 502 and 'data-reason="provider_unreachable"' in response.content.decode()
