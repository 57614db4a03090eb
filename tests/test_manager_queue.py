"""The approval queue tells enough to decide, and decides several requests at once."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import RateSnapshot
from booking.models import Booking
from booking.services import booking_request
from facilities.models import Closure, Qualification, RateCard, TimeShare

from .factories.facilities import FacilityFactory, InstrumentFactory, UserFactory, member

H = dt.timedelta(hours=1)


def client_for(user=None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def request_at(world, start, hours=2, who=None):
    who = who or world.researcher
    return booking_request(requester=who, instrument=world.instrument, start=start, end=start + hours * H)


def row(page: str, pk: int) -> str:
    return re.search(rf'<tr id="request-{pk}">(.*?)</tr>', page, re.S)[1]


def test_a_row_shows_requester_cost_payers_qualification_and_conflicts(world, tomorrow_9):
    RateCard.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=Decimal("1500"))
    world.instrument.requires_approval = True
    world.instrument.requires_qualification = True
    world.instrument.save()
    Qualification.objects.create(user=world.researcher, instrument=world.instrument, granted_by=world.manager)
    b = request_at(world, tomorrow_9, hours=3)
    assert b.status == Booking.Status.REQUESTED
    assert RateSnapshot.objects.get(booking=b).hourly_rate == Decimal("1500")
    Closure.objects.create(facility=world.facility, start=tomorrow_9 + 2 * H, end=tomorrow_9 + 6 * H, reason="cryo")
    page = client_for(world.manager).get(reverse("frontend:console")).content.decode()
    r = row(page, b.pk)
    assert "USTC" in r and "¥4,500.00" in r and "3 h × ¥1,500.00" in r
    assert "USTC-G1 · USTC · 100% = ¥4,500.00" in r
    assert "✓ Qualified" in r and "Collides with a closure" in r
    Qualification.objects.all().delete()
    Closure.objects.all().delete()
    r = row(client_for(world.manager).get(reverse("frontend:console")).content.decode(), b.pk)
    assert "Not qualified on this instrument" in r and "No conflicts" in r


def test_the_time_share_balance_is_shown_for_co_built_instruments(world, tomorrow_9):
    world.instrument.requires_approval = True
    world.instrument.save()
    TimeShare.objects.create(instrument=world.instrument, institution=world.ustc, percent=Decimal("10"))
    b = request_at(world, tomorrow_9)
    r = row(client_for(world.manager).get(reverse("frontend:console")).content.decode(), b.pk)
    assert re.search(r"Time share \d{4}-Q\d: partner, 2\.0 h used of [\d.]+ h reserved", r), r


@pytest.fixture
def three_requests(world, tomorrow_9):
    world.instrument.requires_approval = True
    world.instrument.save()
    return [request_at(world, tomorrow_9 + n * 3 * H) for n in range(3)]


def test_approve_several_at_once(world, three_requests):
    a, b, c = three_requests
    response = client_for(world.manager).post(
        reverse("frontend:decide_many"), {"action": "approve", "ids": [a.pk, b.pk]}, follow=True
    )
    assert f"Approved: #{a.pk}, #{b.pk}." in response.content.decode()
    statuses = dict(Booking.objects.values_list("pk", "status"))
    assert statuses == {a.pk: "approved", b.pk: "approved", c.pk: "requested"}


def test_reject_several_needs_a_reason_and_reports_each_refusal(world, three_requests):
    a, b, c = three_requests
    m = client_for(world.manager)
    page = m.post(reverse("frontend:decide_many"), {"action": "reject", "ids": [a.pk]}, follow=True).content.decode()
    assert "Say why the request is rejected" in page
    assert Booking.objects.get(pk=a.pk).status == "requested"
    m.post(reverse("frontend:decide_many"), {"action": "approve", "ids": [a.pk]})
    page = m.post(
        reverse("frontend:decide_many"),
        {"action": "reject", "ids": [a.pk, b.pk, c.pk], "reason": "beam down"},
        follow=True,
    ).content.decode()
    assert f"Booking #{a.pk}:" in page  # already approved: refused in words, the others go on
    assert f"Rejected: #{b.pk}, #{c.pk}." in page
    assert Booking.objects.get(pk=b.pk).decision_reason == "beam down"


@pytest.mark.parametrize(
    "data",
    [{"action": "approve"}, {"action": "explode", "ids": ["1"]}, {"action": "approve", "ids": ["1; DROP", "2"]}],
)
def test_odd_bulk_input_is_answered_in_words(world, three_requests, data):
    response = client_for(world.manager).post(reverse("frontend:decide_many"), data, follow=True)
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    assert set(Booking.objects.values_list("status", flat=True)) == {"requested"}


def test_who_may_not_decide_in_bulk(world, three_requests):
    a = three_requests[0]
    other_manager = UserFactory(username="other-mgr")
    member(other_manager, world.sari, "facility_manager", [FacilityFactory(code="ELSE")])
    for user in (world.researcher, world.finance):
        assert (
            client_for(user).post(reverse("frontend:decide_many"), {"action": "approve", "ids": [a.pk]}).status_code
            == 403
        )
    anonymous = client_for().post(reverse("frontend:decide_many"), {"action": "approve", "ids": [a.pk]})
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    page = (
        client_for(other_manager)
        .post(reverse("frontend:decide_many"), {"action": "approve", "ids": [a.pk]}, follow=True)
        .content.decode()
    )
    assert f"Booking #{a.pk}: not found" in page
    assert Booking.objects.get(pk=a.pk).status == "requested"


@pytest.mark.parametrize("n", [2, 12])
def test_the_queue_keeps_a_fixed_number_of_queries(world, tomorrow_9, n, django_assert_max_num_queries):
    RateCard.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=Decimal("100"))
    instruments = [world.instrument] + [
        InstrumentFactory(facility=world.facility, code=f"X{i}", requires_approval=True) for i in range(3)
    ]
    world.instrument.requires_approval = True
    world.instrument.save()
    for i in range(n):
        inst = instruments[i % len(instruments)]
        booking_request(
            requester=world.researcher,
            instrument=inst,
            start=tomorrow_9 + (i // 4) * 3 * H,
            end=tomorrow_9 + (i // 4) * 3 * H + H,
        )
    c = client_for(world.manager)
    with django_assert_max_num_queries(15):
        page = c.get(reverse("frontend:console_queue")).content.decode()
    assert page.count('<tr id="request-') == n


def test_the_queue_reads_in_chinese(world, three_requests):
    c = client_for(world.manager)
    c.post(reverse("frontend:language"), {"language": "zh-hans", "next": "/console/"})
    page = c.get(reverse("frontend:console")).content.decode()
    assert "费用与付款方" in page and "无冲突" in page and "批准所勾选" in page
    done = c.post(reverse("frontend:decide_many"), {"action": "approve", "ids": [three_requests[0].pk]}, follow=True)
    assert f"已批准：#{three_requests[0].pk}。" in done.content.decode()
