"""Joint search offers only windows the searcher may book (qualification, limits, time shares, by the
booking rules), shows the cost and who pays, takes the duration in hours, and shows no stale window
after a booking."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking.models import Booking, BookingBundle
from facilities import services
from facilities.models import GroupHourLimit, ResearchGroup, TimeShare

from .factories.facilities import FundingAccountFactory, InstrumentFactory, RateCardFactory

H = dt.timedelta(hours=1)


@pytest.fixture
def pair(world):
    other = InstrumentFactory(facility=world.facility, code="BL2")
    for instrument, rate in ((world.instrument, "100.00"), (other, "250.50")):
        RateCardFactory(instrument=instrument, user_class="external_academic", hourly_rate=Decimal(rate))
    return world.instrument, other


def query(pair, hours="2", days=1, **extra) -> dict:
    day = timezone.localdate() + dt.timedelta(days=1)
    return {
        "instruments": [i.pk for i in pair],
        "duration_hours": hours,
        "start": day.isoformat(),
        "end": (day + dt.timedelta(days=days)).isoformat(),
        **extra,
    }


def signed_in(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def search(client, q) -> str:
    resp = client.get(reverse("frontend:search"), q)
    assert resp.status_code == 200
    html = resp.content.decode()
    return html


def test_unqualified_searcher_is_offered_nothing_and_told_why(world, pair):
    pair[1].requires_qualification = True
    pair[1].save()
    html = search(signed_in(world.researcher), query(pair))
    assert "None of the free windows is offered" in html and "Qualification: BL2" in html
    assert "Book together" not in html and f"/instruments/{pair[1].pk}/#qualification" in html
    # Anonymous visitors see the free windows (they are not a searcher who could book).
    assert "Book together" not in search(Client(), query(pair)) and "1 common window" in search(Client(), query(pair))
    services.qualification_grant(actor=world.manager, user=world.researcher, instrument=pair[1])
    html = search(signed_in(world.researcher), query(pair))
    assert "Book together" in html and "None of the free windows" not in html


def test_group_limit_and_time_share_remove_windows(world, pair):
    group = ResearchGroup.objects.create(name="Films", institution=world.ustc, leader=world.researcher)
    limit = GroupHourLimit.objects.create(group=group, instrument=pair[0], period="month", max_hours=1)
    html = search(signed_in(world.researcher), query(pair))
    assert "None of the free windows is offered" in html and "Group limit" in html
    limit.delete()
    TimeShare.objects.create(instrument=pair[1], institution=world.zju, percent=Decimal("100"))
    html = search(signed_in(world.researcher), query(pair))
    assert "None of the free windows is offered" in html and "Time share" in html
    # ZJU's own researcher may use ZJU's share.
    html = search(signed_in(world.outsider), query(pair))
    assert "Book together" in html


def test_cost_and_payers(world, pair):
    second = FundingAccountFactory(code="USTC-G2", institution=world.ustc, principal_investigator=world.researcher)
    c = signed_in(world.researcher)
    html = search(c, query(pair))
    # 2 h × ¥100 + 2 h × ¥250.50 = ¥701.00, the default account paying all.
    assert "¥701.00" in html and "USTC-G1: 100% = ¥701.00" in html
    shares = {f"split_{world.researcher_account.pk}": "30", f"split_{second.pk}": "70"}
    html = search(c, query(pair, **shares))
    assert "USTC-G1: 30% = ¥210.30" in html and "USTC-G2: 70% = ¥490.70" in html
    day = timezone.localdate() + dt.timedelta(days=1)
    booked = c.post(reverse("frontend:book_bundle"), {**query(pair, **shares), "slot_start": f"{day}T10:00"})
    assert booked.status_code == 200, booked.content.decode()[:2000]
    for booking in Booking.objects.all():
        assert sorted((s.account.code, s.percent) for s in booking.splits.all()) == [
            ("USTC-G1", Decimal("30.00")),
            ("USTC-G2", Decimal("70.00")),
        ]
    bad = search(c, query(pair, **{f"split_{second.pk}": "70"}))
    assert "must add up to 100" in bad and "Book together" not in bad


@pytest.mark.parametrize("hours", ["0", "-1", "abc", "1.001", "745"])
def test_duration_in_hours_is_validated(world, pair, hours):
    html = search(signed_in(world.researcher), query(pair, hours=hours))
    assert "Book together" not in html and 'class="errorlist"' in html


def test_half_hours(world, pair):
    for instrument in pair:
        instrument.booking_unit_minutes = 30
        instrument.min_minutes = 30
        instrument.save()
    html = search(signed_in(world.researcher), query(pair, hours="1.5"))
    assert "Book together" in html and 'name="duration_hours" value="1.5"' in html


def test_windows_are_searched_again_after_booking(world, pair):
    c = signed_in(world.researcher)
    day = timezone.localdate() + dt.timedelta(days=1)
    before = search(c, query(pair))
    assert f'value="{day}T00:00"' in before  # one window, the whole day
    booked = c.post(reverse("frontend:book_bundle"), {**query(pair), "slot_start": f"{day}T00:00", "purpose": "x"})
    html = booked.content.decode()
    assert booked.status_code == 200 and "is booked, all together" in html
    assert BookingBundle.objects.count() == 1
    # The time just taken is gone from the windows on the answer: the first window now starts at 02:00.
    assert f'value="{day}T00:00"' not in html and f'value="{day}T02:00"' in html


def test_searchable_multi_select_is_static_progressive_enhancement(world, pair):
    html = search(Client(), {})
    assert 'data-searchable="instruments"' in html and "frontend/multiselect.js" in html
    assert "Hold Ctrl" in html  # the plain list still explains itself without JavaScript
    assert finders.find("frontend/multiselect.js")
    assert "<script>" not in html


def test_search_page_in_chinese(world, pair):
    c = signed_in(world.researcher)
    resp = c.get(reverse("frontend:search"), query(pair), HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = resp.content.decode()
    assert "时长（小时）" in html and "费用分摊" in html and "一并预约的费用" in html
