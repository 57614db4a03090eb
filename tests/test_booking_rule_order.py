"""The API and the booking form answer the same request with the same first refusal, in the order
docs/booking.md states: input, the instrument's static rules, qualification and accounts, quotas,
the slot. Every case below also holds the slot, so a check made out of order would answer 409."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from billing.models import RateSnapshot  # noqa: F401 - billing's receivers answer the budget hook
from booking.models import Booking
from facilities.models import Closure, FundingAccount, RateCard

from .factories.booking import BookingFactory

H = dt.timedelta(hours=1)


def local_input(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def api_first_error(world, start, end, percent="100") -> tuple[int, str]:
    body = {
        "instrument": world.instrument.pk,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "splits": [{"account": world.researcher_account.pk, "percent": percent}],
    }
    r = world.client(world.researcher).post("/api/v1/bookings/", body, format="json")
    data = r.json()
    if "detail" in data:
        return r.status_code, data["detail"]
    return r.status_code, next(iter(data.values()))[0]


def form_answer(world, start, end, percent="100") -> tuple[int, str]:
    from django.test import Client

    c = Client()
    c.force_login(world.researcher)
    r = c.post(
        reverse("frontend:book", args=[world.instrument.pk]),
        {
            "start": local_input(start),
            "end": local_input(end),
            f"split_{world.researcher_account.pk}": percent,
        },
    )
    return r.status_code, r.content.decode()


def held_by_someone_else(world, start, end) -> Booking:
    return BookingFactory(
        instrument=world.instrument,
        requester=world.outsider,
        institution=world.zju,
        start=start,
        end=end,
        account=world.outsider_account,
    )


def too_long(world, start):
    world.instrument.max_minutes = 60
    world.instrument.save()
    return start, start + 2 * H, "100"


def closed(world, start):
    Closure.objects.create(facility=world.facility, start=start, end=start + H, reason="beam tuning")
    return start, start + H, "100"


def unqualified(world, start):
    world.instrument.requires_qualification = True
    world.instrument.save()
    return start, start + H, "100"


def bad_percent(world, start):
    return start, start + H, "60"


def over_budget(world, start):
    RateCard.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=Decimal("500"))
    FundingAccount.objects.filter(pk=world.researcher_account.pk).update(budget_cap=Decimal("100"))
    return start, start + H, "100"


def future_limit(world, start):
    world.instrument.max_future_bookings = 1
    world.instrument.save()
    BookingFactory(
        instrument=world.instrument,
        requester=world.researcher,
        institution=world.ustc,
        start=start + 24 * H,
        end=start + 25 * H,
        account=world.researcher_account,
    )
    return start, start + H, "100"


def only_the_slot(world, start):
    return start, start + H, "100"


@pytest.mark.parametrize(
    "case, rule, status",
    [
        (too_long, "Maximum duration", 400),
        (closed, "Operating hours", 400),
        (unqualified, "Qualification", 400),
        (bad_percent, "must add up to exactly 100", 400),
        (over_budget, "budget left", 400),
        (future_limit, "Maximum future bookings", 400),
        (only_the_slot, "already held", 409),
    ],
)
def test_api_and_form_give_the_same_first_refusal(world, tomorrow_9, case, rule, status):
    start, end, percent = case(world, tomorrow_9)
    held_by_someone_else(world, start, end)
    before = Booking.objects.count()

    api_status, api_message = api_first_error(world, start, end, percent)
    form_status, form_page = form_answer(world, start, end, percent)

    assert api_status == form_status == status
    assert rule in api_message
    assert escape(api_message) in form_page
    assert Booking.objects.count() == before
