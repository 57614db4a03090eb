"""Times near the ends of Python's calendar (year 1, year 9999) are refused in words, never a 500:
near them, moving to UTC or Shanghai time, adding a buffer or a window leaves Python's range."""

import pytest

from .factories.booking import BookingFactory

EXTREMES = [
    ("0001-01-01T00:00:00+14:00", "0001-01-01T01:00:00+14:00"),
    ("0001-01-01T00:00:00-14:00", "0001-01-01T01:00:00-14:00"),
    ("9999-12-31T22:00:00+00:00", "9999-12-31T23:00:00+00:00"),
    ("9999-12-31T22:00:00-12:00", "9999-12-31T23:00:00-12:00"),
    ("1899-12-31T23:00:00+08:00", "1900-01-01T00:00:00+08:00"),
]


@pytest.fixture
def held(world, tomorrow_9):
    return BookingFactory(
        instrument=world.instrument, requester=world.researcher, institution=world.ustc, start=tomorrow_9
    )


@pytest.mark.parametrize("start,end", EXTREMES)
def test_booking_api_refuses_times_out_of_range(world, held, start, end):
    r = world.client(world.outsider).post(
        "/api/v1/bookings/", {"instrument": world.instrument.pk, "start": start, "end": end}, format="json"
    )
    assert r.status_code == 400, r.content
    assert "between the years 1900 and 2200" in str(r.json())


@pytest.mark.parametrize("start,end", EXTREMES)
def test_read_endpoints_refuse_times_out_of_range(world, held, start, end):
    c = world.client(None)
    q = f"start={start.replace('+', '%2B')}&end={end.replace('+', '%2B')}"
    for url in (
        f"/api/v1/instruments/{world.instrument.pk}/availability/?{q}",
        f"/api/v1/availability/?instruments={world.instrument.pk}&duration_minutes=60&{q}",
    ):
        r = c.get(url)
        assert r.status_code == 400, (url, r.content)
        assert "between the years 1900 and 2200" in str(r.json())


@pytest.mark.parametrize(
    "start,end", [("0001-01-01T00:00", "0001-01-01T01:00"), ("9999-12-31T22:00", "9999-12-31T23:00")]
)
def test_booking_form_refuses_times_out_of_range(world, held, client, start, end):
    client.force_login(world.outsider)
    r = client.post(
        f"/instruments/{world.instrument.pk}/book/",
        {"start": start, "end": end, f"split_{world.outsider_account.pk}": "100"},
    )
    assert r.status_code == 400
    assert "between the years 1900 and 2200" in r.content.decode()
