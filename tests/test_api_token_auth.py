"""API tokens: the header a script sends is checked on every call, with DRF's answers."""

from rest_framework.test import APIClient

from facilities.credentials import create_token, revoke_token


def call(key: str, path: str = "/api/v1/me/"):
    return APIClient().get(path, HTTP_AUTHORIZATION=f"Token {key}")


def test_a_valid_token_signs_its_user_in(world):
    _, key = create_token(user=world.researcher, name="script")
    r = call(key)
    assert r.status_code == 200 and r.json()["username"] == "res"


def test_an_unknown_token_is_401_with_a_message(world):
    create_token(user=world.researcher, name="script")
    r = call("0" * 40)
    assert r.status_code == 401 and r.json()["detail"] == "Invalid token."


def test_a_deactivated_user_is_401_even_with_a_real_token(world):
    _, key = create_token(user=world.researcher, name="script")
    world.researcher.is_active = False
    world.researcher.save()
    r = call(key)
    assert r.status_code == 401


def test_a_revoked_token_stops_working_at_once(world):
    token, key = create_token(user=world.researcher, name="script")
    assert call(key).status_code == 200
    revoke_token(by=world.researcher, token_id=token.pk)
    assert call(key).status_code == 401
