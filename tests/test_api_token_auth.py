"""API tokens: the header a script sends is checked on every call, with DRF's answers."""

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def call(key: str, path: str = "/api/v1/me/"):
    return APIClient().get(path, HTTP_AUTHORIZATION=f"Token {key}")


def test_a_valid_token_signs_its_user_in(world):
    token = Token.objects.create(user=world.researcher)
    r = call(token.key)
    assert r.status_code == 200 and r.json()["username"] == "res"


def test_an_unknown_token_is_401_with_a_message(world):
    Token.objects.create(user=world.researcher)
    r = call("0" * 40)
    assert r.status_code == 401 and r.json()["detail"] == "Invalid token."


def test_a_deactivated_user_is_401_even_with_a_real_token(world):
    token = Token.objects.create(user=world.researcher)
    world.researcher.is_active = False
    world.researcher.save()
    r = call(token.key)
    assert r.status_code == 401 and "inactive" in r.json()["detail"]


def test_a_deleted_token_stops_working_at_once(world):
    token = Token.objects.create(user=world.researcher)
    assert call(token.key).status_code == 200
    token.delete()
    assert call(token.key).status_code == 401
