"""Who reads a booking's purpose (SPEC section 3): the requester, that facility's managers and the finance of
an institution that pays part of it. Finance of the requester's institution sees the booking itself always."""

from decimal import Decimal

from booking.models import BookingSplit
from booking.selectors import may_see_purpose

from .factories.booking import BookingFactory
from .factories.facilities import FundingAccountFactory, UserFactory, member

URL = "/api/v1/bookings/"


def _booking(world, tomorrow_9, *accounts_and_percents):
    b = BookingFactory(
        instrument=world.instrument,
        requester=world.researcher,
        institution=world.ustc,
        start=tomorrow_9,
        purpose="secret sample",
    )
    for account, percent in accounts_and_percents:
        BookingSplit.objects.create(booking=b, account=account, percent=Decimal(percent))
    return b


def _zju_finance():
    from facilities.models.tenants import Institution, Role

    user = UserFactory(username="zjufin")
    member(user, Institution.objects.get(code="ZJU"), Role.FINANCE)
    return user


def test_requester_institution_finance_sees_booking_but_not_purpose_when_another_pays_all(world, tomorrow_9):
    b = _booking(world, tomorrow_9, (world.outsider_account, "100"))
    r = world.client(world.finance).get(f"{URL}{b.pk}/")
    assert r.status_code == 200 and r.json()["purpose"] is None
    assert [x["purpose"] for x in world.client(world.finance).get(URL).json()["results"]] == [None]
    # The paying institution's finance, the requester and the manager read it.
    for user in (_zju_finance(), world.researcher, world.manager, world.admin):
        assert world.client(user).get(f"{URL}{b.pk}/").json()["purpose"] == "secret sample"
    assert not may_see_purpose(world.finance, b)


def test_requester_institution_finance_sees_purpose_when_it_pays_part(world, tomorrow_9):
    b = _booking(world, tomorrow_9, (world.outsider_account, "70"), (world.researcher_account, "30"))
    assert world.client(world.finance).get(f"{URL}{b.pk}/").json()["purpose"] == "secret sample"
    assert world.client(_zju_finance()).get(f"{URL}{b.pk}/").json()["purpose"] == "secret sample"


def test_finance_of_an_uninvolved_institution_sees_nothing(world, tomorrow_9):
    b = _booking(world, tomorrow_9, (world.researcher_account, "100"))
    assert world.client(_zju_finance()).get(f"{URL}{b.pk}/").status_code == 404
    other = FundingAccountFactory(code="USTC-G2", institution=world.ustc, principal_investigator=world.researcher)
    assert may_see_purpose(world.finance, _booking(world, tomorrow_9 + (b.end - b.start) * 3, (other, "100")))
