"""Requests to join hold when they race: real threads with their own database connections (PostgreSQL row
locks; on SQLite the IMMEDIATE transactions serialize writers)."""

from collections import Counter

import pytest
from django.core.exceptions import ValidationError

from facilities.joining import decide_join_request, request_membership
from facilities.models import JoinRequest, Membership
from facilities.models.tenants import Role

from .factories.facilities import UserFactory, member
from .test_races import run_threads

pytestmark = [pytest.mark.slow]


@pytest.mark.django_db(transaction=True)
def test_racing_requests_of_one_person_make_one_pending_request(world):
    person = UserFactory(username="racer")
    made: list[int] = []

    def ask(i: int) -> None:
        made.append(request_membership(user=person, institution=world.ustc, via=JoinRequest.Via.EMAIL_DOMAIN).pk)

    run_threads(6, ask)
    assert JoinRequest.objects.filter(user=person, institution=world.ustc).count() == 1
    assert len(set(made)) == 1


@pytest.mark.django_db(transaction=True)
def test_racing_decisions_decide_once(world):
    admins = [UserFactory(username=f"admin{i}") for i in range(4)]
    for admin in admins:
        member(admin, world.ustc, Role.INSTITUTION_ADMIN)
    join_request = request_membership(user=UserFactory(username="asker"), institution=world.ustc, via="request")
    outcome: Counter = Counter()

    def decide(i: int) -> None:
        try:
            decide_join_request(actor=admins[i], join_request=join_request, approve=i % 2 == 0)
            outcome["decided"] += 1
        except ValidationError:
            outcome["refused"] += 1

    run_threads(4, decide)
    assert outcome == Counter({"decided": 1, "refused": 3})
    decided = JoinRequest.objects.get(pk=join_request.pk)
    is_member = Membership.objects.filter(user=join_request.user, institution=world.ustc).exists()
    assert is_member == (decided.state == JoinRequest.State.APPROVED)
