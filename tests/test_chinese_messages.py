"""Chinese all the way: every refusal of a booking comes back in the language the client asks for with
`Accept-Language`, through the API (400 and the 409 body) as through the pages, with no English word left
but the codes of instruments and accounts (which are names, not words)."""

import re

import pytest
from django.utils import translation

from booking.models import Booking
from facilities.models import Closure

from . import test_booking_rule_order as order

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture(autouse=True)
def back_to_english():
    """A request in Chinese leaves its language active in this thread; the tests after these expect English."""
    yield
    translation.activate("en")


def closed_without_reason(world, start):
    Closure.objects.create(facility=world.facility, start=start, end=start + order.H, kind=Closure.Kind.MAINTENANCE)
    return start, start + order.H, "100"


def english_words(world, message: str) -> list[str]:
    for code in (world.instrument.code, world.researcher_account.code):
        message = message.replace(code, "")
    message = message.replace("UTC", "").replace("CNY", "")
    return re.findall(r"[A-Za-z]{2,}", message)


def api_answer(world, start, end, percent, **headers) -> tuple[int, dict]:
    body = {
        "instrument": world.instrument.pk,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "splits": [{"account": world.researcher_account.pk, "percent": percent}],
    }
    r = world.client(world.researcher).post("/api/v1/bookings/", body, format="json", **headers)
    return r.status_code, r.json()


def first_message(data: dict) -> str:
    if "detail" in data:
        return data["detail"]
    value = next(iter(data.values()))
    return value[0] if isinstance(value, list) else value


@pytest.mark.parametrize(
    "case, status, chinese",
    [
        (order.too_long, 400, "最长时长"),
        (closed_without_reason, 400, "开放时间"),
        (order.unqualified, 400, "上机资格"),
        (order.bad_percent, 400, "恰好为 100"),
        (order.over_budget, 400, "预算"),
        (order.future_limit, 400, "未来预约上限"),
        (order.only_the_slot, 409, "已被占用"),
    ],
)
def test_each_refusal_speaks_chinese_when_asked(world, tomorrow_9, case, status, chinese):
    start, end, percent = case(world, tomorrow_9)
    order.held_by_someone_else(world, start, end)
    before = Booking.objects.count()

    got, data = api_answer(world, start, end, percent, **ZH)
    message = first_message(data)

    assert got == status
    assert chinese in message
    assert english_words(world, message) == [], message
    if status == 409:
        assert data["code"] == "slot_unavailable"  # the code stays a code; only the words change
    assert Booking.objects.count() == before


def test_without_the_header_the_same_refusal_stays_english(world, tomorrow_9):
    start, end, percent = order.too_long(world, tomorrow_9)
    got, data = api_answer(world, start, end, percent)
    assert got == 400
    assert first_message(data).startswith("Maximum duration:")


def test_the_booking_form_shows_the_refusal_in_chinese(world, tomorrow_9):
    from django.test import Client
    from django.urls import reverse

    start, end, percent = order.too_long(world, tomorrow_9)
    c = Client(**ZH)
    c.force_login(world.researcher)
    r = c.post(
        reverse("frontend:book", args=[world.instrument.pk]),
        {
            "start": order.local_input(start),
            "end": order.local_input(end),
            f"split_{world.researcher_account.pk}": percent,
        },
    )
    assert r.status_code == 400
    assert "最长时长" in r.content.decode()


@pytest.mark.parametrize("minutes, words", [(60, "1 小时"), (120, "2 小时"), (1440, "1 天"), (90, "90 分钟")])
def test_durations_in_rule_messages_follow_the_language(minutes, words):
    from booking.rules import _fmt_minutes

    with translation.override("zh-hans"):
        assert _fmt_minutes(minutes) == words
    with translation.override("en"):
        assert "hour" in _fmt_minutes(120) and "day" in _fmt_minutes(2880)


def test_every_demo_account_has_a_chinese_title_shown_on_chinese_pages(db):
    from facilities.models import FundingAccount, Instrument
    from facilities.seed import DEMO_ACCOUNT_TITLES_ZH, DEMO_ACCOUNTS, load_catalog, load_demo_people
    from frontend.forms import BookingForm

    load_catalog()
    load_demo_people()
    assert {code for code, *_ in DEMO_ACCOUNTS} == set(DEMO_ACCOUNT_TITLES_ZH)
    assert not FundingAccount.objects.filter(title_zh="").exists()

    account = FundingAccount.objects.get(code="USTC-NSFC-22175001")
    instrument = Instrument.objects.first()
    with translation.override("zh-hans"):
        form = BookingForm(instrument=instrument, accounts=[account])
        assert "单原子催化剂" in str(form.fields[f"split_{account.pk}"].label)
    with translation.override("en"):
        form = BookingForm(instrument=instrument, accounts=[account])
        assert "single-atom" in str(form.fields[f"split_{account.pk}"].label)


def test_a_refused_transition_and_an_unknown_booking_answer_in_chinese(world, tomorrow_9):
    from .factories.booking import BookingFactory

    booking = BookingFactory(
        instrument=world.instrument,
        requester=world.researcher,
        institution=world.ustc,
        start=tomorrow_9,
        end=tomorrow_9 + order.H,
        account=world.researcher_account,
        status=Booking.Status.CANCELLED,
    )
    manager = world.client(world.manager)
    r = manager.post(f"/api/v1/bookings/{booking.pk}/approve/", {}, format="json", **ZH)
    assert r.status_code == 409
    assert r.json()["code"] == "invalid_transition"
    assert "不能被批准" in r.json()["detail"]
    assert english_words(world, r.json()["detail"]) == []

    r = manager.post("/api/v1/bookings/999999/approve/", {}, format="json", **ZH)
    assert r.status_code == 404
    assert english_words(world, r.json()["detail"]) == [], r.json()

    r = world.client(world.researcher).post("/api/v1/bookings/", "{not json", content_type="application/json", **ZH)
    assert r.status_code == 400
    assert r.json()["detail"].startswith("请求正文不是有效的 JSON")
