"""The gate in front of POST /api/v1/bookings/: a plain token request for a held slot is refused there,
in one read, with the same status, bytes and headers as the full path; every other request reaches the
full path and gets its answer."""

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from booking.api import refusal_gate
from booking.models import Booking, IdempotencyRecord

from .factories.booking import BookingFactory

H = dt.timedelta(hours=1)
URL = "/api/v1/bookings/"
COMPARED_HEADERS = ("Content-Type", "Vary", "Allow", "Content-Language", "Idempotent-Replayed")


@pytest.fixture
def gate(monkeypatch):
    """What the gate answered for each request (None: passed on), and a switch to turn it off."""

    class Gate:
        answers: list = []
        on = True

    real = refusal_gate._refusal

    def spy(request, allow):
        answer = real(request, allow) if Gate.on else None
        Gate.answers.append(answer)
        return answer

    Gate.answers = []
    monkeypatch.setattr(refusal_gate, "_refusal", spy)
    return Gate


def token(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def post(key: str | None, payload, *, raw: bytes | None = None, query: str = "", **headers):
    client = APIClient()
    if key is not None:
        headers.setdefault("HTTP_AUTHORIZATION", f"Token {key}")
    data = raw if raw is not None else json.dumps(payload)
    return client.post(URL + query, data=data, content_type=headers.pop("content_type", "application/json"), **headers)


def both_ways(gate, *args, **kwargs):
    """The answer with the gate, then the same request with the gate off (the full path)."""
    gate.on = True
    gated = post(*args, **kwargs)
    gate.on = False
    full = post(*args, **kwargs)
    gate.on = True
    return gated, full


def same_answer(a, b) -> None:
    assert a.status_code == b.status_code
    if not a["Content-Type"].startswith("text/html"):  # the browsable page carries a fresh CSRF token
        assert a.content == b.content
    for name in COMPARED_HEADERS:
        assert a.get(name) == b.get(name), name


@pytest.fixture
def held_day(world, tomorrow_9):
    """The whole of tomorrow's working day is held by the researcher."""
    BookingFactory(instrument=world.instrument, requester=world.researcher, institution=world.ustc,
                   start=tomorrow_9 - 2 * H, end=tomorrow_9 + 10 * H, status=Booking.Status.APPROVED)
    return tomorrow_9


def slot(world, start, end=None, **extra) -> dict:
    return {"instrument": world.instrument.pk, "start": start.isoformat(), "end": (end or start + H).isoformat(), **extra}


def test_a_held_slot_is_refused_by_the_gate_in_one_read(world, held_day, gate, django_assert_num_queries):
    key = token(world.outsider)
    with django_assert_num_queries(1):  # the token, the requester's role and the slot, together
        r = post(key, slot(world, held_day + H, purpose="SAXS run"))
    assert r.status_code == 409
    assert r.json()["code"] == "slot_unavailable"
    assert r.json()["conflicts"] == [{"start": (held_day - 2 * H).isoformat(), "end": (held_day + 10 * H).isoformat()}]
    assert gate.answers[-1] is not None
    assert Booking.objects.count() == 1


def test_the_gates_answer_is_the_full_paths_to_the_byte(world, held_day, gate):
    gated, full = both_ways(gate, token(world.outsider), slot(world, held_day, held_day + 3 * H))
    assert gate.answers == [gated_answer := gate.answers[0], None] and gated_answer is not None
    assert gated.status_code == 409
    same_answer(gated, full)


def test_the_gate_speaks_the_requests_language_like_the_full_path(world, held_day, gate):
    gated, full = both_ways(gate, token(world.outsider), slot(world, held_day), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert gate.answers[0] is not None
    assert gated["Content-Language"] == "zh-hans"
    same_answer(gated, full)


def test_a_free_slot_passes_the_gate_and_is_booked(world, tomorrow_9, gate):
    r = post(token(world.outsider), slot(world, tomorrow_9))
    assert r.status_code == 201, r.json()
    assert gate.answers == [None]
    assert Booking.objects.get().requester == world.outsider


def test_a_free_slot_is_read_once_on_its_way_through(world, tomorrow_9, gate):
    """The gate's read found the slot free; the full path does not make that read again."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from facilities.models import Membership

    def early_reads(captured) -> int:  # the early refusal's read is the one asking for the role in a subquery
        return sum(f"EXISTS (SELECT 1 FROM {Membership._meta.db_table} m" in q["sql"] for q in captured.captured_queries)

    with CaptureQueriesContext(connection) as through_gate:
        assert post(token(world.outsider), slot(world, tomorrow_9)).status_code == 201
    assert gate.answers == [None]
    with CaptureQueriesContext(connection) as past_gate:  # not a plain token request: the full path reads it
        r = post(token(world.outsider), slot(world, tomorrow_9 + 2 * H), HTTP_IDEMPOTENCY_KEY="k-1")
        assert r.status_code == 201
    assert early_reads(through_gate) == 1
    assert early_reads(past_gate) == 1


def _inactive(world):
    key = token(world.outsider)
    world.outsider.is_active = False
    world.outsider.save()
    return key


# Requests the gate must leave to the full path, though each asks for a held slot.
PASSED_ON = {
    "unknown token": lambda w, t: (("0" * 40, slot(w, t)), {}),
    "inactive user": lambda w, t: ((_inactive(w), slot(w, t)), {}),
    "manager may not book": lambda w, t: ((token(w.manager), slot(w, t)), {}),
    "finance may not book": lambda w, t: ((token(w.finance), slot(w, t)), {}),
    "no credentials": lambda w, t: ((None, slot(w, t)), {}),
    "another scheme": lambda w, t: ((None, slot(w, t)), {"HTTP_AUTHORIZATION": f"Bearer {token(w.outsider)}"}),
    "token with a third word": lambda w, t: ((None, slot(w, t)), {"HTTP_AUTHORIZATION": f"Token {token(w.outsider)} x"}),
    "splits given": lambda w, t: ((token(w.outsider), slot(w, t, splits=[{"account": w.outsider_account.pk, "percent": 100}])), {}),
    "unknown field": lambda w, t: ((token(w.outsider), slot(w, t, colour="red")), {}),
    "a query string": lambda w, t: ((token(w.outsider), slot(w, t)), {"query": "?format=json"}),
    "HTML asked for": lambda w, t: ((token(w.outsider), slot(w, t)), {"HTTP_ACCEPT": "text/html"}),
    "not JSON": lambda w, t: ((token(w.outsider), None), {"raw": b"instrument=1"}),
    "form encoded": lambda w, t: ((token(w.outsider), None), {"raw": b"instrument=1", "content_type": "application/x-www-form-urlencoded"}),
    "a list": lambda w, t: ((token(w.outsider), [slot(w, t)]), {}),
    "instrument as text": lambda w, t: ((token(w.outsider), {**slot(w, t), "instrument": str(w.instrument.pk)}), {}),
    "instrument as true": lambda w, t: ((token(w.outsider), {**slot(w, t), "instrument": True}), {}),
    "unknown instrument": lambda w, t: ((token(w.outsider), {**slot(w, t), "instrument": 999_999}), {}),
    "naive time": lambda w, t: ((token(w.outsider), {**slot(w, t), "start": t.replace(tzinfo=None).isoformat()}), {}),
    "end before start": lambda w, t: ((token(w.outsider), slot(w, t, t - H)), {}),
    "off the booking unit": lambda w, t: ((token(w.outsider), slot(w, t + dt.timedelta(minutes=30))), {}),
    "too long": lambda w, t: ((token(w.outsider), slot(w, t - H, t + 30 * H)), {}),
    "purpose too long": lambda w, t: ((token(w.outsider), slot(w, t, purpose="x" * 5000)), {}),
    "purpose with NUL": lambda w, t: ((token(w.outsider), slot(w, t, purpose="a\x00b")), {}),
    "purpose with a lone surrogate": lambda w, t: ((token(w.outsider), None), {"raw": json.dumps(slot(w, t, purpose="\ud800")).encode()}),
    "purpose as a number": lambda w, t: ((token(w.outsider), slot(w, t, purpose=5)), {}),
}


@pytest.mark.parametrize("case", PASSED_ON)
def test_requests_the_gate_does_not_answer_get_the_full_paths_answer(world, held_day, gate, case):
    args, kwargs = PASSED_ON[case](world, held_day)
    gated, full = both_ways(gate, *args, **kwargs)
    assert gate.answers[0] is None, case
    assert gated.status_code < 500
    same_answer(gated, full)
    assert Booking.objects.count() == 1


def test_a_keyed_request_goes_to_the_full_path_and_its_refusal_is_stored(world, held_day, gate):
    r = post(token(world.outsider), slot(world, held_day), HTTP_IDEMPOTENCY_KEY="k-1")
    assert r.status_code == 409 and gate.answers == [None]
    assert IdempotencyRecord.objects.get(key="k-1").status_code == 409
    again = post(token(world.outsider), slot(world, held_day), HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 409 and again["Idempotent-Replayed"] == "true"


def test_a_changeover_conflict_is_listed_with_its_changeover(world, tomorrow_9, gate):
    world.instrument.buffer_minutes = 30
    world.instrument.save()
    assert post(token(world.researcher), slot(world, tomorrow_9)).status_code == 201
    # 10:00 touches the booking itself but not its changeover, which runs to 10:30.
    gated, full = both_ways(gate, token(world.outsider), slot(world, tomorrow_9 + H))
    assert gated.status_code == 409 and gate.answers[-2] is not None
    assert gated.json()["conflicts"] == [{"start": tomorrow_9.isoformat(), "end": (tomorrow_9 + 1.5 * H).isoformat()}]
    same_answer(gated, full)


def test_the_schema_still_describes_the_endpoint():
    from booking.api.views import BookingList

    r = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert r.status_code == 200
    assert "post" in r.json()["paths"]["/api/v1/bookings/"]
    assert refusal_gate.refusal_gate(BookingList.as_view()).cls is BookingList


def _mostly(good, *bad):
    """`good` half the time, one of `bad` the other half: so the gate answers a good share."""
    return st.one_of(good, st.sampled_from(bad) if not isinstance(bad[0], st.SearchStrategy) else st.one_of(*bad))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shift=st.integers(min_value=-2, max_value=9),
    length=_mostly(st.integers(min_value=1, max_value=6), -1, 0, 9),
    off_unit=_mostly(st.just(0), 30, 1),
    zone=_mostly(st.sampled_from(["+08:00", "Z", "+00:00", "-05:00", "+0800"]), "", "nonsense", "+25:00"),
    instrument=_mostly(st.just("own"), None, 0, -1, "1", True, 1.5, 2**60, 999_999),
    purpose=_mostly(st.sampled_from([None, "", "SAXS run"]), st.sampled_from(["x" * 4001, 5, "a\x00b", ["a"]]), st.text(max_size=10)),
)
def test_any_body_gets_the_same_answer_with_or_without_the_gate(world, held_day, gate, shift, length, off_unit, zone, instrument, purpose):
    """Slots that start within the held day, written every way, with every kind of value: whatever
    the gate decides, the answer is the full path's."""
    tz = dt.timezone.utc if zone in ("Z", "+00:00") else dt.timezone(dt.timedelta(hours=-5 if zone == "-05:00" else 8))
    start = (held_day + dt.timedelta(hours=shift, minutes=off_unit)).astimezone(tz)
    end = start + dt.timedelta(hours=length)

    def written(moment):  # the wall time in that zone, then the zone as given (or none, or garbage)
        return moment.replace(tzinfo=None).isoformat() + zone

    body = {"instrument": world.instrument.pk if instrument == "own" else instrument, "start": written(start), "end": written(end)}
    if purpose is not None:
        body["purpose"] = purpose
    gate.answers.clear()
    gated, full = both_ways(gate, token(world.outsider), body)
    assert gated.status_code in (400, 409), gated.content
    same_answer(gated, full)
    assert Booking.objects.count() == 1
