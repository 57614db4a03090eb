"""List pages keep a constant number of queries as the data grows."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from booking.services import booking_request
from tests.factories.facilities import FacilityFactory, InstrumentFactory

H = dt.timedelta(hours=1)


def count_queries(client, url, django_assert_max_num_queries, limit):
    with django_assert_max_num_queries(limit):
        response = client.get(url)
    assert response.status_code == 200
    return response


def grow_bookings(world, start, n, requires_approval=False):
    for k in range(n):
        instrument = InstrumentFactory(facility=world.facility, requires_approval=requires_approval)
        booking_request(requester=world.researcher, instrument=instrument, start=start + k * H, end=start + (k + 1) * H)


@pytest.mark.parametrize("n", [1, 12])
def test_catalog_queries_do_not_grow(world, n, django_assert_max_num_queries):
    for k in range(n):
        FacilityFactory(code=f"GROW{k}", host=world.sari, city="Hangzhou", province="zhejiang")
    count_queries(Client(), reverse("frontend:catalog"), django_assert_max_num_queries, 3)


@pytest.mark.parametrize("n", [1, 10])
def test_dashboard_queries_do_not_grow(world, tomorrow_9, n, django_assert_max_num_queries):
    grow_bookings(world, tomorrow_9, n)
    c = Client()
    c.force_login(world.researcher)
    # 2 of them: the researcher's violations and suspensions.
    page = count_queries(c, reverse("frontend:dashboard"), django_assert_max_num_queries, 12)
    assert page.content.decode().count('id="booking-') == n


@pytest.mark.parametrize("n", [1, 10])
def test_manager_queue_queries_do_not_grow(world, tomorrow_9, n, django_assert_max_num_queries):
    grow_bookings(world, tomorrow_9, n, requires_approval=True)
    c = Client()
    c.force_login(world.manager)
    # 12 for the lists, 3 for what a decision needs (payers, qualifications, closures; docs/frontend.md),
    # 1 for bookings a calendar change put in closed time.
    page = count_queries(c, reverse("frontend:console"), django_assert_max_num_queries, 16)
    assert page.content.decode().count('id="request-') == n


@pytest.mark.parametrize("n", [1, 10])
def test_instrument_page_queries_do_not_grow_with_bookings(world, tomorrow_9, n, django_assert_max_num_queries):
    for k in range(n):
        booking_request(
            requester=world.researcher,
            instrument=world.instrument,
            start=tomorrow_9 + 2 * k * H,
            end=tomorrow_9 + (2 * k + 1) * H,
        )
    c = Client()
    c.force_login(world.researcher)
    count_queries(
        c,
        reverse("frontend:instrument", args=[world.instrument.pk]) + f"?week={tomorrow_9.date()}",
        django_assert_max_num_queries,
        # 12, plus the "in use" badge and whether the reader manages the instrument, plus the week grid's
        # own bookings of the reader and the instrument's opening hours: fixed, however many bookings.
        16,
    )
