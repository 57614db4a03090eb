"""Malformed input of every kind gets a 4xx saying what is wrong, never a 500, and writes nothing."""

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.models import Booking

from .factories.booking import BookingFactory

H = dt.timedelta(hours=1)
URL = "/api/v1/bookings/"


def good(world, start):
    return {"instrument": world.instrument.pk, "start": start.isoformat(), "end": (start + H).isoformat()}


def assert_words(response, status=400):
    assert response.status_code == status, (response.status_code, response.content[:300])
    data = response.json()
    assert data and all(v for v in data.values()), data
    return data


@pytest.mark.parametrize(
    "change,field,words",
    [
        ({"start": "2026-12-01T09:00:00"}, "start", "UTC offset"),
        ({"end": "2026-12-01T10:00:00"}, "end", "UTC offset"),
        ({"start": "tomorrow at nine"}, "start", "not an ISO 8601 time"),
        ({"start": "2026-13-45T09:00:00+08:00"}, "start", "not an ISO 8601 time"),
        ({"start": 1764550800}, "start", "as a string"),
        ({"start": None}, "start", "may not be null"),
        ({"instrument": "1"}, "instrument", "whole number"),
        ({"instrument": True}, "instrument", "whole number"),
        ({"instrument": 1.5}, "instrument", "whole number"),
        ({"instrument": [1]}, "instrument", "whole number"),
        ({"instrument": 10**30}, "instrument", "less than or equal"),
        ({"purpose": 42}, "purpose", "text"),
        ({"purpose": "x" * 2001}, "purpose", "2000"),
        ({"splits": "all on my grant"}, "splits", "list"),
        ({"splits": [{"account": "USTC-G1", "percent": 100}]}, "splits", "whole number"),
        ({"splits": [{"account": 1}]}, "splits", "required"),
        ({"splits": [{"account": 1, "percent": True}]}, "splits", "number"),
        ({"splits": [{"account": 1, "percent": {"a": 1}}]}, "splits", "number"),
        ({"splits": [{"account": 1, "percent": 1}] * 21}, "splits", "20"),
    ],
)
def test_wrong_types_and_formats(world, tomorrow_9, change, field, words):
    payload = {**good(world, tomorrow_9), **change}
    data = assert_words(world.client(world.researcher).post(URL, payload, format="json"))
    assert field in data and words in json.dumps(data), data
    assert Booking.objects.count() == 0


@pytest.mark.parametrize("missing", ["instrument", "start", "end"])
def test_missing_fields(world, tomorrow_9, missing):
    payload = good(world, tomorrow_9)
    del payload[missing]
    data = assert_words(world.client(world.researcher).post(URL, payload, format="json"))
    assert "required" in json.dumps(data[missing])


def test_end_before_start(world, tomorrow_9):
    payload = {**good(world, tomorrow_9), "end": tomorrow_9.isoformat()}
    assert "after the start" in assert_words(world.client(world.researcher).post(URL, payload, format="json"))["end"][0]


def test_unknown_instrument_and_foreign_account(world, tomorrow_9):
    c = world.client(world.researcher)
    data = assert_words(c.post(URL, {**good(world, tomorrow_9), "instrument": 987654}, format="json"))
    assert "No instrument has the id 987654" in data["instrument"][0]
    payload = {**good(world, tomorrow_9), "splits": [{"account": world.outsider_account.pk, "percent": 100}]}
    data = assert_words(c.post(URL, payload, format="json"))
    assert "may not charge account" in data["splits"][0]
    payload = {**good(world, tomorrow_9), "splits": [{"account": world.researcher_account.pk, "percent": 60}]}
    assert "add up to exactly 100" in assert_words(c.post(URL, payload, format="json"))["splits"][0]
    payload = {**good(world, tomorrow_9), "splits": [{"account": world.researcher_account.pk, "percent": "33.333"}]}
    assert "two decimals" in assert_words(c.post(URL, payload, format="json"))["splits"][0]
    payload = {**good(world, tomorrow_9), "splits": [{"account": world.researcher_account.pk, "percent": "NaN"}]}
    assert "percent" in assert_words(c.post(URL, payload, format="json"))["splits"][0]


@pytest.mark.parametrize(
    "raw,content_type,words",
    [
        (b"{not json", "application/json", "not valid JSON"),
        (b"[1, 2, 3]", "application/json", "JSON object"),
        (b'"a string"', "application/json", "JSON object"),
        (b'{"start": NaN}', "application/json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "application/json", "not valid JSON"),
        (b"instrument=1&start=x", "application/x-www-form-urlencoded", "must be JSON"),
        (b"hello", "text/plain", "must be JSON"),
    ],
)
def test_non_json_bodies(world, raw, content_type, words):
    r = world.client(world.researcher).generic("POST", URL, raw, content_type=content_type)
    assert words in json.dumps(assert_words(r))


def test_huge_body_is_refused_before_parsing(world, tomorrow_9):
    payload = {**good(world, tomorrow_9), "purpose": "x" * 200_000}
    data = assert_words(world.client(world.researcher).post(URL, payload, format="json"), status=413)
    assert "too large" in data["detail"]
    assert not Booking.objects.exists()


@pytest.mark.parametrize(
    "params,field",
    [
        ({"status": "pending"}, "status"),
        ({"instrument": "abc"}, "instrument"),
        ({"instrument": "-1"}, "instrument"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2026-12-01T09:00:00"}, "start"),
        ({"start": "2026-12-02T00:00:00+08:00", "end": "2026-12-01T00:00:00+08:00"}, "end"),
        ({"page": "x" * 5000}, "detail"),
    ],
)
def test_bad_list_filters(world, params, field):
    r = world.client(world.researcher).get(URL, params)
    if field == "detail":
        assert r.status_code == 404 and r.json()["detail"]
    else:
        assert field in assert_words(r)


@pytest.mark.parametrize(
    "params,field",
    [
        ({"start": "2026-12-01"}, "start"),
        ({"start": "2026-12-01T00:00:00+08:00", "end": "2026-11-01T00:00:00+08:00"}, "end"),
        ({"end": "x" * 300}, "end"),
    ],
)
def test_bad_availability_params(world, params, field):
    r = world.client(None).get(f"/api/v1/instruments/{world.instrument.pk}/availability/", params)
    assert field in assert_words(r)


@pytest.mark.parametrize(
    "params,field,words",
    [
        ({"duration_minutes": "60"}, "instruments", "at least one id"),
        ({"instruments": "1,x", "duration_minutes": "60"}, "instruments", "not an id"),
        ({"instruments": ",".join(str(i) for i in range(1, 502)), "duration_minutes": "60"}, "instruments", "500"),
        ({"instruments": "{i}"}, "duration_minutes", "required"),
        ({"instruments": "{i}", "duration_minutes": "1.5"}, "duration_minutes", "whole number"),
        ({"instruments": "{i}", "duration_minutes": "0"}, "duration_minutes", "between"),
        ({"instruments": "{i}", "duration_minutes": "90"}, "duration_minutes", "blocks of 1 hour"),
        ({"instruments": "{i}", "duration_minutes": "2880"}, "duration_minutes", "does not suit"),
        ({"instruments": "{i},99999", "duration_minutes": "60"}, "instruments", "99999"),
        (
            {
                "instruments": "{i}",
                "duration_minutes": "60",
                "start": "2026-12-01T00:00:00+08:00",
                "end": "2027-03-15T00:00:00+08:00",
            },
            "end",
            "92 days",
        ),
    ],
)
def test_bad_joint_search_params(world, params, field, words):
    params = {k: v.replace("{i}", str(world.instrument.pk)) for k, v in params.items()}
    data = assert_words(world.client(None).get("/api/v1/availability/", params))
    assert words in json.dumps(data[field]), data


@pytest.mark.parametrize("path", ["approve", "reject", "cancel", "no-show"])
def test_bad_transition_bodies(world, tomorrow_9, path):
    booking_id = world.client(world.researcher).post(URL, good(world, tomorrow_9), format="json").json()["id"]
    c = world.client(world.manager)
    assert "reason" in assert_words(c.post(f"{URL}{booking_id}/{path}/", {"reason": 5}, format="json"))
    assert "reason" in assert_words(c.post(f"{URL}{booking_id}/{path}/", {"reason": "x" * 2001}, format="json"))
    assert "JSON" in json.dumps(
        assert_words(c.generic("POST", f"{URL}{booking_id}/{path}/", b"{", content_type="application/json"))
    )


def test_bad_complete_times(world, tomorrow_9):
    booking_id = world.client(world.researcher).post(URL, good(world, tomorrow_9), format="json").json()["id"]
    r = world.client(world.manager).post(
        f"{URL}{booking_id}/complete/", {"actual_start": "2026-12-01T09:00:00"}, format="json"
    )
    assert "UTC offset" in assert_words(r)["actual_start"][0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    payload=st.dictionaries(
        st.sampled_from(["instrument", "start", "end", "purpose", "splits", "extra"]),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(max_size=40),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.sampled_from(["account", "percent"]), inner, max_size=2)
            ),
            max_leaves=6,
        ),
    )
)
def test_no_payload_causes_a_500(world, payload):
    r = world.client(world.researcher).post(URL, payload, format="json")
    assert r.status_code in (201, 400, 403, 404, 409), (r.status_code, payload)
    assert r.json()


def _api_post_targets(world) -> list[str]:
    """Every API path, with its parameters filled in from the test world."""
    from django.urls import URLPattern, URLResolver, get_resolver

    values = {"pk": "1", "file_id": "1", "code": world.facility.code, "province": "shanghai", "year": "2027"}
    found: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for p in patterns:
            route = str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + route)
            elif isinstance(p, URLPattern):
                found.append(prefix + route)

    walk(get_resolver().url_patterns, "/")
    paths = []
    for route in found:
        if not route.startswith("/api/v1/") or "webhook" in route or "^" in route:
            continue
        for name, value in values.items():
            route = route.replace(f"<int:{name}>", value).replace(f"<str:{name}>", value)
        assert "<" not in route, route
        paths.append(route)
    return paths


@pytest.mark.parametrize("persona", ["researcher", "manager", "finance"])
def test_json_nested_too_deeply_is_a_400_on_every_endpoint(world, tomorrow_9, persona):
    """Python's decoder gives up on a few thousand brackets, well inside the body size limit."""
    BookingFactory(
        instrument=world.instrument,
        requester=world.researcher,
        institution=world.ustc,
        start=tomorrow_9,
        end=tomorrow_9 + H,
        status=Booking.Status.REQUESTED,
    )
    from rest_framework.test import APIClient

    from facilities.credentials import create_token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {create_token(user=getattr(world, persona), name='test')[1]}")
    paths = _api_post_targets(world)
    assert "/api/v1/bookings/" in paths and len(paths) > 15
    refused = 0
    for path in paths:
        r = client.post(path, data="[" * 50_000, content_type="application/json")
        assert r.status_code < 500, (path, r.status_code)
        if r.status_code == 400 and "nested too deeply" in r.content.decode():
            refused += 1
    assert refused >= 5, refused
