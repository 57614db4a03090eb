"""Scoped selectors: what each persona may see of funding accounts."""

import pytest

from facilities.selectors import accounts_chargeable_by, accounts_visible_to

pytestmark = pytest.mark.django_db


def test_outsider_sees_none_of_another_institutions_accounts(world):
    assert world.researcher_account not in accounts_visible_to(world.outsider)
    assert set(accounts_visible_to(world.outsider)) == {world.outsider_account}
    body = world.client(world.outsider).get("/api/v1/accounts/").json()
    assert [a["code"] for a in body["results"]] == ["ZJU-G1"]


def test_researcher_sees_accounts_they_lead_or_are_named_on(world):
    world.outsider_account.members.add(world.researcher)
    assert set(accounts_visible_to(world.researcher)) == {world.researcher_account, world.outsider_account}
    assert set(accounts_chargeable_by(world.researcher)) == {world.researcher_account, world.outsider_account}


def test_finance_sees_own_institution_accounts_only(world):
    assert set(accounts_visible_to(world.finance)) == {world.researcher_account}
    assert set(accounts_chargeable_by(world.finance)) == set()


def test_manager_and_anonymous_see_no_accounts(world):
    assert list(accounts_visible_to(world.manager)) == []
    assert world.client(None).get("/api/v1/accounts/").status_code in (401, 403)


def test_admin_sees_all_accounts(world):
    assert set(accounts_visible_to(world.admin)) == {world.researcher_account, world.outsider_account}
