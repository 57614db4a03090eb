"""POST /api/v1/bookings/series/ and /bundles/ and /bookings/{id}/move/: shapes, codes, personas."""

import datetime as dt

import pytest

from booking.models import Booking, BookingSeries
from booking.services import booking_request

from .factories.facilities import InstrumentFactory

H = dt.timedelta(hours=1)
W = dt.timedelta(weeks=1)
SERIES = "/api/v1/bookings/series/"
BUNDLES = "/api/v1/bookings/bundles/"


def series_body(world, start, **extra):
    return {
        "instrument": world.instrument.pk,
        "start": start.isoformat(),
        "end": (start + H).isoformat(),
        "count": 3,
        **extra,
    }


def test_series_created_in_contract_shape(world, tomorrow_9):
    r = world.client(world.researcher).post(SERIES, series_body(world, tomorrow_9, purpose="weekly"), format="json")
    assert r.status_code == 201, r.json()
    data = r.json()
    assert (data["count"], data["interval_weeks"], data["skipped"]) == (3, 1, [])
    assert [b["start"] for b in data["bookings"]] == [(tomorrow_9 + n * W).isoformat() for n in range(3)]
    assert {"id", "instrument", "start", "end", "status", "requester", "institution", "purpose", "splits"} <= set(
        data["bookings"][0]
    )
    assert data["bookings"][0]["purpose"] == "weekly"


def test_series_conflict_is_409_listing_occurrences_and_writes_nothing(world, tomorrow_9):
    booking_request(
        requester=world.outsider, instrument=world.instrument, start=tomorrow_9 + 2 * W, end=tomorrow_9 + 2 * W + H
    )
    r = world.client(world.researcher).post(SERIES, series_body(world, tomorrow_9), format="json")
    assert r.status_code == 409
    data = r.json()
    assert data["code"] == "series_unavailable" and "nothing was booked" in data["detail"]
    assert [(o["occurrence"], o["code"]) for o in data["occurrences"]] == [(3, "slot_unavailable")]
    assert not BookingSeries.objects.exists()
    r = world.client(world.researcher).post(SERIES, series_body(world, tomorrow_9, skip_conflicts=True), format="json")
    assert r.status_code == 201
    assert len(r.json()["bookings"]) == 2 and r.json()["skipped"][0]["occurrence"] == 3


@pytest.mark.parametrize(
    "change,field",
    [
        ({"count": 53}, "count"),
        ({"count": "3"}, "count"),
        ({"skip_conflicts": "yes"}, "skip_conflicts"),
        ({"interval_weeks": 0}, "interval_weeks"),
        ({"start": "2026-12-01T09:00:00"}, "start"),
    ],
)
def test_series_bad_input_is_400_naming_the_field(world, tomorrow_9, change, field):
    r = world.client(world.researcher).post(SERIES, {**series_body(world, tomorrow_9), **change}, format="json")
    assert r.status_code == 400 and field in r.json()


def test_series_personas(world, tomorrow_9):
    assert world.client(None).post(SERIES, series_body(world, tomorrow_9), format="json").status_code in (401, 403)
    r = world.client(world.manager).post(SERIES, series_body(world, tomorrow_9), format="json")
    assert r.status_code == 403 and "researcher" in r.json()["detail"]
    r = world.client(world.researcher).post(
        SERIES,
        series_body(world, tomorrow_9, splits=[{"account": world.outsider_account.pk, "percent": 100}]),
        format="json",
    )
    assert r.status_code == 400 and "may not charge" in str(r.json())
    assert not Booking.objects.exists()


def test_series_idempotency_key_replays(world, tomorrow_9):
    c = world.client(world.researcher)
    first = c.post(SERIES, series_body(world, tomorrow_9), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = c.post(SERIES, series_body(world, tomorrow_9), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert Booking.objects.count() == 3


def test_bundle_api(world, tomorrow_9):
    second = InstrumentFactory(facility=world.facility, code="BL2")
    items = [
        {"instrument": world.instrument.pk, "start": tomorrow_9.isoformat(), "end": (tomorrow_9 + H).isoformat()},
        {"instrument": second.pk, "start": (tomorrow_9 + H).isoformat(), "end": (tomorrow_9 + 2 * H).isoformat()},
    ]
    c = world.client(world.researcher)
    r = c.post(BUNDLES, {"items": items, "purpose": "prep and measure"}, format="json")
    assert r.status_code == 201, r.json()
    assert [b["instrument"] for b in r.json()["bookings"]] == [world.instrument.pk, second.pk]
    r = world.client(world.outsider).post(BUNDLES, {"items": items}, format="json")
    assert r.status_code == 409
    assert r.json()["code"] == "bundle_unavailable" and [i["item"] for i in r.json()["items"]] == [1, 2]
    assert Booking.objects.count() == 2
    r = c.post(BUNDLES, {"items": []}, format="json")
    assert r.status_code == 400 and "items" in r.json()
    r = c.post(BUNDLES, {"items": [{**items[0], "instrument": 999999}]}, format="json")
    assert r.status_code == 400 and "999999" in str(r.json())


def test_move_api_personas(world, tomorrow_9):
    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    url = f"/api/v1/bookings/{b.pk}/move/"
    to = {"start": (tomorrow_9 + 2 * H).isoformat(), "end": (tomorrow_9 + 3 * H).isoformat()}
    r = world.client(world.outsider).post(url, to, format="json")
    assert r.status_code == 404 and r.json()["detail"]
    r = world.client(world.finance).post(url, to, format="json")
    assert r.status_code == 403
    r = world.client(world.researcher).post(url, to, format="json")
    assert r.status_code == 200, r.json()
    assert (r.json()["start"], r.json()["sequence"]) == (to["start"], 1)
    r = world.client(world.manager).post(
        url, {"start": tomorrow_9.isoformat(), "end": (tomorrow_9 + H).isoformat()}, format="json"
    )
    assert r.status_code == 200
    other = booking_request(
        requester=world.outsider, instrument=world.instrument, start=tomorrow_9 + 4 * H, end=tomorrow_9 + 5 * H
    )
    r = world.client(world.researcher).post(
        url, {"start": other.start.isoformat(), "end": other.end.isoformat()}, format="json"
    )
    assert r.status_code == 409 and r.json()["code"] == "slot_unavailable" and r.json()["conflicts"]
    r = world.client(world.researcher).post(url, {"start": "tomorrow"}, format="json")
    assert r.status_code == 400
    assert world.client(world.researcher).post("/api/v1/bookings/999999/move/", to, format="json").status_code == 404


def test_bundle_personas(world, tomorrow_9):
    items = [{"instrument": world.instrument.pk, "start": tomorrow_9.isoformat(), "end": (tomorrow_9 + H).isoformat()}]
    assert world.client(None).post(BUNDLES, {"items": items}, format="json").status_code in (401, 403)
    for persona in (world.manager, world.finance):
        r = world.client(persona).post(BUNDLES, {"items": items}, format="json")
        assert r.status_code == 403 and r.json()["detail"]
    assert not Booking.objects.exists()
