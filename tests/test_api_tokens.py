"""Tokens people can manage: stored hashed, named, expiring; listed, made, rotated and revoked by their
owner (API and page), revoked by a platform administrator; a password change or a deactivation revokes
them all; a revoked or expired token is 401 at once; nobody sees or touches another's token; the SPEC's
sign-in endpoint keeps its shape; DRF's old plain keys are carried over hashed."""

import datetime as dt
import hashlib
import types

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from facilities.credentials import create_token, revoke_token
from facilities.models import ApiToken

LIST = "/api/v1/auth/tokens/"


def with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def works(key: str) -> bool:
    r = with_key(key).get("/api/v1/me/")
    assert r.status_code in (200, 401), r.status_code
    return r.status_code == 200


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_only_a_digest_of_the_key_is_stored(world):
    token, key = create_token(user=world.researcher, name="export")
    assert len(key) == 40 and token.digest == hashlib.sha256(key.encode()).hexdigest()
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert key not in {str(v) for v in row.values()}
    assert token.prefix == key[:8]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM facilities_apitoken")
        assert not any(key in str(value) for row in cursor.fetchall() for value in row)


def test_the_sign_in_endpoint_keeps_its_shape_and_makes_a_named_expiring_token(world):
    r = APIClient().post("/api/v1/auth/token/", {"username": "res", "password": "pw-123456"}, format="json")
    assert r.status_code == 200 and set(r.json()) == {"token"}
    key = r.json()["token"]
    assert works(key)
    token = ApiToken.objects.get(user=world.researcher)
    assert token.name == "API sign-in" and token.from_sign_in
    assert dt.timedelta(days=89) < token.expires_at - timezone.now() <= dt.timedelta(days=90)
    # Each sign-in is a new token; the earlier keys keep working.
    second = APIClient().post("/api/v1/auth/token/", {"username": "res", "password": "pw-123456"}, format="json")
    assert second.json()["token"] != key and works(key) and works(second.json()["token"])


def test_owner_lists_creates_rotates_and_revokes_through_the_api(world, django_assert_max_num_queries):
    api = world.client(world.researcher)
    made = api.post(LIST, {"name": "beamline export", "expires_in_days": 7}, format="json")
    assert made.status_code == 201
    body = made.json()
    key = body["token"]
    assert body["name"] == "beamline export" and body["active"] and body["prefix"] == key[:8]
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert dt.timedelta(days=6, hours=23) < expires - timezone.now() <= dt.timedelta(days=7)
    assert works(key)

    for i in range(5):
        create_token(user=world.researcher, name=f"other {i}")
    with django_assert_max_num_queries(3):
        listed = api.get(LIST)
    assert listed.status_code == 200 and listed.json()["count"] == 6
    assert "token" not in listed.json()["results"][0] and "digest" not in listed.json()["results"][0]
    assert api.get(f"{LIST}{body['id']}/").json()["name"] == "beamline export"

    rotated = api.post(f"{LIST}{body['id']}/rotate/", format="json")
    assert rotated.status_code == 201
    new_key = rotated.json()["token"]
    assert rotated.json()["name"] == "beamline export" and new_key != key
    assert not works(key) and works(new_key)
    old = ApiToken.objects.get(pk=body["id"])
    assert old.revoked_because == ApiToken.RevokedBecause.ROTATED
    assert api.post(f"{LIST}{body['id']}/rotate/", format="json").status_code == 409

    revoked = api.delete(f"{LIST}{rotated.json()['id']}/")
    assert revoked.status_code == 204 and not works(new_key)
    assert api.delete(f"{LIST}{rotated.json()['id']}/").status_code == 409
    assert api.get(f"{LIST}{rotated.json()['id']}/").json()["active"] is False


def test_a_token_can_manage_tokens_and_revoke_itself(world):
    token, key = create_token(user=world.researcher, name="ci")
    client = with_key(key)
    assert client.get(LIST).json()["count"] == 1
    assert client.delete(f"{LIST}{token.pk}/").status_code == 204
    assert client.get(LIST).status_code == 401


def test_another_persons_token_cannot_be_seen_rotated_or_revoked(world):
    theirs, key = create_token(user=world.outsider, name="theirs")
    for persona in (world.researcher, world.manager, world.finance):
        api = world.client(persona)
        assert api.get(LIST).json()["count"] == 0
        assert api.get(f"{LIST}{theirs.pk}/").status_code == 404
        assert api.delete(f"{LIST}{theirs.pk}/").status_code == 404
        assert api.post(f"{LIST}{theirs.pk}/rotate/", format="json").status_code == 404
        page = page_client(persona)
        assert page.post(f"/me/tokens/{theirs.pk}/revoke/").status_code == 404
        assert page.post(f"/me/tokens/{theirs.pk}/rotate/").status_code == 404
        assert "theirs" not in page.get("/me/tokens/").content.decode()
    # A platform administrator does not use the owner's API for it either: revoking is in the admin.
    assert world.client(world.admin).delete(f"{LIST}{theirs.pk}/").status_code == 404
    assert works(key)


def test_anonymous_people_are_refused(world):
    assert APIClient().get(LIST).status_code in (401, 403)
    assert APIClient().post(LIST, {"name": "x"}, format="json").status_code in (401, 403)
    r = Client().get("/me/tokens/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")


def test_an_expired_token_is_401(world):
    token, key = create_token(user=world.researcher, name="short", days=1)
    assert works(key)
    ApiToken.objects.filter(pk=token.pk).update(
        created_at=timezone.now() - dt.timedelta(days=2), expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    r = with_key(key).get("/api/v1/me/")
    assert r.status_code == 401 and r.json()["detail"] == "Token has expired."


def test_a_password_change_revokes_every_token(world):
    _, key1 = create_token(user=world.researcher, name="one")
    _, key2 = create_token(user=world.researcher, name="two")
    _, other = create_token(user=world.outsider, name="theirs")
    page = page_client(world.researcher)
    new = "violet-harbour-quartz"
    r = page.post(
        "/password/change/", {"old_password": "pw-123456", "new_password1": new, "new_password2": new}, follow=True
    )
    assert r.status_code == 200 and r.redirect_chain[-1][0] == "/password/change/done/"
    assert not works(key1) and not works(key2) and works(other)
    assert set(ApiToken.objects.filter(user=world.researcher).values_list("revoked_because", flat=True)) == {
        ApiToken.RevokedBecause.PASSWORD_CHANGED
    }
    # The page itself stays signed in (Django keeps the session that changed the password).
    assert page.get("/me/tokens/").status_code == 200


def test_a_password_set_anywhere_and_a_deactivation_revoke_every_token(world):
    _, key = create_token(user=world.researcher, name="one")
    world.researcher.set_password("another-long-password")
    world.researcher.save()
    assert not works(key)

    _, key = create_token(user=world.outsider, name="two")
    world.outsider.first_name = "Unrelated change"
    world.outsider.save()
    assert works(key)
    world.outsider.is_active = False
    world.outsider.save(update_fields=["is_active"])
    assert ApiToken.objects.get(user=world.outsider).revoked_because == ApiToken.RevokedBecause.DEACTIVATED
    world.outsider.is_active = True
    world.outsider.save()
    assert not works(key)  # reactivating does not bring a revoked token back


def test_a_stronger_hash_of_the_same_password_revokes_nothing(world, settings):
    _, key = create_token(user=world.researcher, name="one")
    # The stored hash is an old, weaker one; signing in upgrades it (Django's check_password setter).
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    old_hash = world.researcher.password
    r = APIClient().post("/api/v1/auth/token/", {"username": "res", "password": "pw-123456"}, format="json")
    assert r.status_code == 200
    world.researcher.refresh_from_db()
    assert world.researcher.password != old_hash and world.researcher.password.startswith("pbkdf2_")
    assert works(key)


def test_a_platform_admin_revokes_in_the_admin_and_others_may_not(world):
    token, key = create_token(user=world.researcher, name="script")
    admin = page_client(world.admin)
    assert admin.get("/admin/facilities/apitoken/").status_code == 200
    r = admin.post("/admin/facilities/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True)
    assert r.status_code == 200
    token.refresh_from_db()
    assert token.revoked_because == ApiToken.RevokedBecause.ADMIN and token.revoked_by == world.admin
    assert not works(key)
    # No key is ever made or shown in the admin; a token's page shows its record, not its digest.
    assert admin.get("/admin/facilities/apitoken/add/").status_code == 403
    detail = admin.get(f"/admin/facilities/apitoken/{token.pk}/change/")
    assert detail.status_code == 200 and token.digest not in detail.content.decode()
    assert "script" in detail.content.decode()

    staff = world.manager
    staff.is_staff = True
    staff.save()
    assert page_client(staff).get("/admin/facilities/apitoken/").status_code == 403


def test_creation_and_revocation_are_audited(world):
    token, _ = create_token(user=world.researcher, name="audited")
    revoke_token(by=world.researcher, token_id=token.pk)
    entries = LogEntry.objects.get_for_object(token).order_by("timestamp", "id")
    actions = [e.action for e in entries]
    assert actions == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE]
    assert "revoked_at" in entries[1].changes_dict and "digest" not in entries[0].changes_dict


def test_bad_token_requests_are_400_in_words(world):
    api = world.client(world.researcher)
    for body in [{}, {"name": ""}, {"name": 5}, {"name": "x" * 101}, {"name": "x", "expires_in_days": 0}]:
        assert api.post(LIST, body, format="json").status_code == 400, body
    for days in [366, "7", 1.5, True]:
        r = api.post(LIST, {"name": "x", "expires_in_days": days}, format="json")
        assert r.status_code == 400, days
    assert ApiToken.objects.count() == 0


def test_named_tokens_are_limited_and_sign_in_tokens_replace_the_oldest(world, settings):
    settings.API_TOKEN_MAX_ACTIVE = 3
    api = world.client(world.researcher)
    sign_in = []
    for _ in range(2):
        r = APIClient().post("/api/v1/auth/token/", {"username": "res", "password": "pw-123456"}, format="json")
        sign_in.append(r.json()["token"])
    assert api.post(LIST, {"name": "named"}, format="json").status_code == 201
    assert api.post(LIST, {"name": "one too many"}, format="json").status_code == 409
    r = APIClient().post("/api/v1/auth/token/", {"username": "res", "password": "pw-123456"}, format="json")
    assert r.status_code == 200 and works(r.json()["token"])
    assert not works(sign_in[0]) and works(sign_in[1])


def test_the_page_lists_makes_rotates_and_revokes(world):
    page = page_client(world.researcher)
    made = page.post("/me/tokens/", {"name": "from the page", "days": 30})
    assert made.status_code == 200 and "no-store" in made["Cache-Control"]
    token = ApiToken.objects.get(user=world.researcher)
    key = made.context["new"]["key"]
    assert key in made.content.decode() and works(key)
    # The key is shown once: the list does not show it again.
    listing = page.get("/me/tokens/").content.decode()
    assert "from the page" in listing and key not in listing and token.prefix in listing

    rotated = page.post(f"/me/tokens/{token.pk}/rotate/")
    new_key = rotated.context["new"]["key"]
    assert new_key in rotated.content.decode() and not works(key) and works(new_key)

    new_token = ApiToken.objects.get(user=world.researcher, revoked_at__isnull=True)
    r = page.post(f"/me/tokens/{new_token.pk}/revoke/", follow=True)
    assert r.status_code == 200 and not works(new_key)
    assert page.post("/me/tokens/", {"name": "", "days": 30}).status_code == 400
    assert page.post("/me/tokens/", {"name": "x", "days": 9999}).status_code == 400


def test_the_page_speaks_chinese(world):
    page = page_client(world.researcher)
    create_token(user=world.researcher, name="脚本")
    html = page.get("/me/tokens/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "API 令牌" in html and "脚本" in html


def test_old_drf_keys_keep_working_hashed_and_the_plain_keys_are_gone(world, django_db_blocker):
    from importlib import import_module

    migration = import_module("facilities.migrations.0005_keep_drf_tokens_hashed")
    plain = "a" * 40
    with connection.cursor() as cursor:
        if "authtoken_token" not in connection.introspection.table_names():
            cursor.execute(
                "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id bigint NOT NULL, created timestamp)"
            )
        cursor.execute(
            "INSERT INTO authtoken_token (key, user_id, created) VALUES (%s, %s, %s)",
            [plain, world.researcher.pk, timezone.now() - dt.timedelta(days=400)],
        )
    from django.apps import apps

    moved = migration.hash_drf_tokens(apps, types.SimpleNamespace(connection=connection))
    assert moved == 1
    token = ApiToken.objects.get(user=world.researcher)
    assert token.name == migration.MIGRATED_TOKEN_NAME and token.digest == hashlib.sha256(plain.encode()).hexdigest()
    assert dt.timedelta(days=29) < token.expires_at - timezone.now() <= dt.timedelta(days=30)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0
    assert works(plain)
    # Running it again changes nothing.
    assert migration.hash_drf_tokens(apps, types.SimpleNamespace(connection=connection)) == 0


def test_the_endpoints_are_in_the_schema(world):
    schema = APIClient().get("/api/v1/schema/?format=json").json()
    for path in [LIST, f"{LIST}{{id}}/", f"{LIST}{{id}}/rotate/"]:
        assert path in schema["paths"], path
    assert set(schema["paths"][f"{LIST}{{id}}/"]) == {"get", "delete"}


@pytest.mark.parametrize("persona", ["researcher", "manager", "finance", "outsider", "admin"])
def test_every_persona_manages_only_their_own(world, persona):
    user = getattr(world, persona)
    mine, _ = create_token(user=user, name="mine")
    create_token(user=world.researcher if persona != "researcher" else world.outsider, name="not mine")
    listed = world.client(user).get(LIST).json()
    assert [t["id"] for t in listed["results"]] == [mine.pk]


def test_the_page_costs_the_same_with_many_tokens(world, django_assert_max_num_queries, settings):
    settings.API_TOKEN_MAX_ACTIVE = 50
    for i in range(30):
        create_token(user=world.researcher, name=f"script {i}")
    page = page_client(world.researcher)
    with django_assert_max_num_queries(8):
        r = page.get("/me/tokens/")
    assert r.status_code == 200 and r.content.decode().count('id="token-') == 30
