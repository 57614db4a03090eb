"""The limits of tokens and of sign-in failures hold when requests race: real threads with their own
database connections (PostgreSQL row locks; on SQLite the IMMEDIATE transactions serialize writers)."""

from collections import Counter

import pytest
from axes.models import AccessAttempt
from django.db.models import Sum
from django.test import Client

from common.errors import Conflict
from facilities.credentials import create_token, rotate_token
from facilities.models import ApiToken

from .test_races import run_threads

pytestmark = [pytest.mark.slow]


@pytest.mark.django_db(transaction=True)
def test_racing_creations_never_exceed_the_token_limit(world, settings):
    settings.API_TOKEN_MAX_ACTIVE = 3
    outcome: Counter = Counter()

    def make(i: int) -> None:
        try:
            create_token(user=world.researcher, name=f"racer {i}")
            outcome["made"] += 1
        except Conflict as exc:
            outcome[exc.code] += 1

    run_threads(8, make)
    assert outcome == Counter({"made": 3, "too_many_tokens": 5})
    assert ApiToken.objects.filter(user=world.researcher, revoked_at__isnull=True).count() == 3


@pytest.mark.django_db(transaction=True)
def test_racing_rotations_of_one_token_make_one_new_key(world):
    token, _ = create_token(user=world.researcher, name="shared")
    outcome: Counter = Counter()

    def rotate(i: int) -> None:
        try:
            rotate_token(by=world.researcher, token_id=token.pk)
            outcome["rotated"] += 1
        except Conflict as exc:
            outcome[exc.code] += 1

    run_threads(4, rotate)
    assert outcome == Counter({"rotated": 1, "already_revoked": 3})
    assert ApiToken.objects.filter(user=world.researcher, revoked_at__isnull=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_racing_wrong_passwords_are_all_counted_and_lock(world):
    def guess(i: int) -> None:
        r = Client(REMOTE_ADDR="203.0.113.50").post(
            "/api/v1/auth/token/", {"username": "res", "password": f"wrong-{i}"}, content_type="application/json"
        )
        assert r.status_code in (400, 429), r.status_code

    run_threads(12, guess)
    counted = AccessAttempt.objects.filter(username="res").aggregate(n=Sum("failures_since_start"))["n"]
    assert counted == 12
    right = Client(REMOTE_ADDR="198.51.100.50").post(
        "/api/v1/auth/token/", {"username": "res", "password": "pw-123456"}, content_type="application/json"
    )
    assert right.status_code == 429
