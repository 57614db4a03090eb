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


def test_a_token_read_is_one_query(world, django_assert_num_queries):
    token = Token.objects.create(user=world.researcher)
    from facilities.auth import TokenAuthentication

    with django_assert_num_queries(1):
        user, auth = TokenAuthentication().authenticate_credentials(token.key)
    assert user == world.researcher and auth.key == token.key


def test_the_token_user_is_the_user_the_orm_loads(world):
    """Every field as the ORM loads it, types included (SQLite hands back text and numbers)."""
    import datetime as dt

    from django.utils import timezone

    from facilities.auth import TokenAuthentication
    from facilities.models import User

    User.objects.filter(pk=world.researcher.pk).update(last_login=timezone.now() - dt.timedelta(days=1), is_staff=True)
    token = Token.objects.create(user=world.researcher)
    user, _ = TokenAuthentication().authenticate_credentials(token.key)
    orm = User.objects.get(pk=world.researcher.pk)
    for field in User._meta.concrete_fields:
        mine, theirs = getattr(user, field.attname), getattr(orm, field.attname)
        assert (mine, type(mine)) == (theirs, type(theirs)), field.name
    assert user._state.adding is False and user.default_account_id == world.researcher_account.pk
