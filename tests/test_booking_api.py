"""The booking endpoints end to end: shapes, codes and what each answer means."""

import datetime as dt

import pytest

from booking.models import Booking, BookingEvent
from facilities.models import Closure

from .factories.booking import BookingFactory, started_booking
from .factories.facilities import FundingAccountFactory

H = dt.timedelta(hours=1)
URL = "/api/v1/bookings/"


def body(world, start, end=None, **extra):
    return {
        "instrument": world.instrument.pk,
        "start": start.isoformat(),
        "end": (end or start + H).isoformat(),
        **extra,
    }


def test_create_returns_the_booking_in_contract_shape(world, tomorrow_9):
    r = world.client(world.researcher).post(URL, body(world, tomorrow_9, purpose="XAFS of catalysts"), format="json")
    assert r.status_code == 201, r.json()
    data = r.json()
    assert {"id", "instrument", "start", "end", "status", "requester", "institution", "purpose", "splits"} <= set(data)
    assert data["instrument"] == world.instrument.pk
    assert data["start"] == tomorrow_9.isoformat() and data["start"].endswith("+08:00")
    assert data["status"] == "approved"
    assert data["requester"] == "res" and data["institution"] == "USTC"
    assert data["purpose"] == "XAFS of catalysts"
    assert data["splits"] == [{"account": world.researcher_account.pk, "percent": "100.00"}]


def test_create_with_utc_offset_is_shown_in_shanghai_time(world, tomorrow_9):
    utc = tomorrow_9.astimezone(dt.UTC)
    r = world.client(world.researcher).post(URL, body(world, utc), format="json")
    assert r.status_code == 201
    assert r.json()["start"] == tomorrow_9.isoformat()


def test_split_across_two_accounts(world, tomorrow_9):
    second = FundingAccountFactory(code="USTC-G2", institution=world.ustc, principal_investigator=world.researcher)
    splits = [{"account": world.researcher_account.pk, "percent": 66.67}, {"account": second.pk, "percent": "33.33"}]
    r = world.client(world.researcher).post(URL, body(world, tomorrow_9, splits=splits), format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["splits"] == [
        {"account": world.researcher_account.pk, "percent": "66.67"},
        {"account": second.pk, "percent": "33.33"},
    ]


def test_the_created_answer_is_what_a_later_read_shows(world, tomorrow_9):
    """The 201 is built from the rows just written, not read back: it must match the stored booking."""
    second = FundingAccountFactory(code="USTC-G2", institution=world.ustc, principal_investigator=world.researcher)
    splits = [{"account": second.pk, "percent": 50}, {"account": world.researcher_account.pk, "percent": "50.0"}]
    client = world.client(world.researcher)
    created = client.post(URL, body(world, tomorrow_9, purpose="beam time", splits=splits), format="json")
    assert created.status_code == 201, created.json()
    assert created.json() == client.get(f"{URL}{created.json()['id']}/").json()
    assert [s["percent"] for s in created.json()["splits"]] == ["50.00", "50.00"]


def test_needs_approval_starts_requested(world, tomorrow_9):
    world.instrument.requires_approval = True
    world.instrument.save()
    r = world.client(world.researcher).post(URL, body(world, tomorrow_9), format="json")
    assert r.status_code == 201 and r.json()["status"] == "requested"


def test_overlap_is_409_with_conflicts(world, tomorrow_9):
    world.instrument.buffer_minutes = 30
    world.instrument.save()
    assert (
        world.client(world.researcher).post(URL, body(world, tomorrow_9, tomorrow_9 + 2 * H), format="json").status_code
        == 201
    )
    r = world.client(world.outsider).post(URL, body(world, tomorrow_9 + 2 * H), format="json")
    assert r.status_code == 409
    data = r.json()
    assert data["code"] == "slot_unavailable" and "BL1" in data["detail"]
    # The held span includes the 30-minute changeover after the booking.
    assert data["conflicts"] == [{"start": tomorrow_9.isoformat(), "end": (tomorrow_9 + 2.5 * H).isoformat()}]
    assert Booking.objects.count() == 1


@pytest.mark.parametrize(
    "shift,length,rule",
    [
        (dt.timedelta(minutes=30), H, "Booking unit"),
        (dt.timedelta(0), dt.timedelta(hours=25), "Maximum duration"),
        (dt.timedelta(days=-2), H, "past"),
        (dt.timedelta(days=400), H, "Booking horizon"),
    ],
)
def test_rule_refusals_are_400_naming_the_rule(world, tomorrow_9, shift, length, rule):
    r = world.client(world.researcher).post(
        URL, body(world, tomorrow_9 + shift, tomorrow_9 + shift + length), format="json"
    )
    assert r.status_code == 400
    assert rule in str(r.json())


def test_closure_is_400_naming_operating_hours(world, tomorrow_9):
    Closure.objects.create(facility=world.facility, start=tomorrow_9, end=tomorrow_9 + 3 * H, reason="magnet ramp")
    r = world.client(world.researcher).post(URL, body(world, tomorrow_9 + H), format="json")
    assert r.status_code == 400
    assert "Operating hours" in r.json()["detail"] and "magnet ramp" in r.json()["detail"]


def test_list_is_scoped_paginated_and_filtered(world, tomorrow_9):
    c = world.client(world.researcher)
    ids = [c.post(URL, body(world, tomorrow_9 + i * H), format="json").json()["id"] for i in range(3)]
    other = world.client(world.outsider).post(URL, body(world, tomorrow_9 + 5 * H), format="json").json()["id"]
    c.post(f"{URL}{ids[1]}/cancel/", {}, format="json")
    page = c.get(URL).json()
    assert {"count", "next", "previous", "results"} <= set(page)
    assert [b["id"] for b in page["results"]] == ids and other not in [b["id"] for b in page["results"]]
    assert [b["id"] for b in c.get(URL, {"status": "cancelled"}).json()["results"]] == [ids[1]]
    window = {"start": (tomorrow_9 + H).isoformat(), "end": (tomorrow_9 + 2 * H).isoformat()}
    assert [b["id"] for b in c.get(URL, window).json()["results"]] == [ids[1]]
    assert c.get(URL, {"instrument": world.instrument.pk + 999}).json()["count"] == 0
    assert c.get(URL, {"page_size": 2}).json()["next"] is not None
    manager_view = world.client(world.manager).get(URL).json()
    assert manager_view["count"] == 4


def test_detail_of_someone_elses_booking_is_404(world, tomorrow_9):
    booking_id = world.client(world.researcher).post(URL, body(world, tomorrow_9), format="json").json()["id"]
    assert world.client(world.researcher).get(f"{URL}{booking_id}/").status_code == 200
    r = world.client(world.outsider).get(f"{URL}{booking_id}/")
    assert r.status_code == 404 and r.json()["detail"]


def test_approve_reject_and_invalid_transition(world, tomorrow_9):
    world.instrument.requires_approval = True
    world.instrument.save()
    c = world.client(world.researcher)
    a = c.post(URL, body(world, tomorrow_9), format="json").json()["id"]
    b = c.post(URL, body(world, tomorrow_9 + H), format="json").json()["id"]
    m = world.client(world.manager)
    r = m.post(f"{URL}{a}/approve/", {"reason": "fine"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = m.post(f"{URL}{b}/reject/", {"reason": "no sample safety form"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert BookingEvent.objects.get(booking_id=b, to_status="rejected").reason == "no sample safety form"
    r = m.post(f"{URL}{b}/approve/", {}, format="json")
    assert r.status_code == 409
    assert r.json()["code"] == "invalid_transition" and "rejected" in r.json()["detail"]


def test_cancel_frees_the_slot_at_once(world, tomorrow_9):
    c = world.client(world.researcher)
    a = c.post(URL, body(world, tomorrow_9), format="json").json()["id"]
    assert world.client(world.outsider).post(URL, body(world, tomorrow_9), format="json").status_code == 409
    r = c.post(f"{URL}{a}/cancel/", {"reason": "sample not ready"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert world.client(world.outsider).post(URL, body(world, tomorrow_9), format="json").status_code == 201


def test_complete_records_actual_use_and_no_show(world):
    done = started_booking(world)
    gone = started_booking(world, hours_ago=5)
    m = world.client(world.manager)
    actual = {"actual_start": done.start.isoformat(), "actual_end": (done.start + dt.timedelta(minutes=45)).isoformat()}
    r = m.post(f"{URL}{done.pk}/complete/", actual, format="json")
    assert r.status_code == 200 and r.json()["status"] == "completed"
    done.refresh_from_db()
    assert done.actual_end == done.start + dt.timedelta(minutes=45)
    r = m.post(f"{URL}{gone.pk}/no-show/", {}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "no_show"
    assert m.post(f"{URL}{gone.pk}/complete/", {}, format="json").json()["code"] == "invalid_transition"


def test_complete_before_start_is_409(world, tomorrow_9):
    b = BookingFactory(
        instrument=world.instrument, requester=world.researcher, institution=world.ustc, start=tomorrow_9
    )
    r = world.client(world.manager).post(f"{URL}{b.pk}/complete/", {}, format="json")
    assert r.status_code == 409 and "not started" in r.json()["detail"]


def test_purpose_hidden_from_nobody_who_may_see_the_booking(world, tomorrow_9):
    """Everyone the list shows a booking to may read its purpose; the field is never dropped."""
    booking_id = (
        world.client(world.researcher)
        .post(URL, body(world, tomorrow_9, purpose="secret sample"), format="json")
        .json()["id"]
    )
    for user in (world.researcher, world.manager, world.finance, world.admin):
        assert world.client(user).get(f"{URL}{booking_id}/").json()["purpose"] == "secret sample"


def test_availability_shows_busy_and_free_without_personal_data(world, tomorrow_9):
    world.client(world.researcher).post(URL, body(world, tomorrow_9, purpose="secret sample"), format="json")
    Closure.objects.create(facility=world.facility, start=tomorrow_9 + 3 * H, end=tomorrow_9 + 4 * H)
    r = world.client(None).get(
        f"/api/v1/instruments/{world.instrument.pk}/availability/",
        {"start": tomorrow_9.isoformat(), "end": (tomorrow_9 + 5 * H).isoformat()},
    )
    assert r.status_code == 200
    data = r.json()
    iso = lambda n: (tomorrow_9 + n * H).isoformat()  # noqa: E731
    assert data["instrument"] == world.instrument.pk and data["version"] >= 1
    assert data["busy"] == [
        {"start": iso(0), "end": iso(1), "kind": "booking"},
        {"start": iso(3), "end": iso(4), "kind": "closure"},
    ]
    assert data["free"] == [{"start": iso(1), "end": iso(3)}, {"start": iso(4), "end": iso(5)}]
    assert "secret" not in r.content.decode() and "res" not in r.content.decode()


def test_availability_default_window_and_limits(world):
    c = world.client(None)
    url = f"/api/v1/instruments/{world.instrument.pk}/availability/"
    data = c.get(url).json()
    start, end = dt.datetime.fromisoformat(data["start"]), dt.datetime.fromisoformat(data["end"])
    assert (start.hour, start.minute) == (0, 0) and end - start == dt.timedelta(days=7)
    r = c.get(url, {"start": "2026-01-01T00:00:00+08:00", "end": "2027-03-01T00:00:00+08:00"})
    assert r.status_code == 400 and "400 days" in r.json()["end"][0]
    assert c.get("/api/v1/instruments/999999/availability/").status_code == 404


@pytest.mark.parametrize("persona", ["researcher", "manager", "finance", "admin"])
def test_list_costs_the_same_queries_at_any_size(world, persona, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add(n, offset):
        for i in range(n):
            start = tomorrow_base() + (offset + i) * H
            BookingFactory(
                instrument=world.instrument,
                requester=world.researcher,
                institution=world.ustc,
                start=start,
                end=start + H,
                account=world.researcher_account,
            )

    c = world.client(getattr(world, persona))
    add(2, 0)
    with CaptureQueriesContext(connection) as small:
        assert c.get(URL).json()["count"] == 2
    add(40, 10)
    with django_assert_max_num_queries(10):
        with CaptureQueriesContext(connection) as big:
            assert len(c.get(URL).json()["results"]) == 42
    assert len(big) == len(small)


def tomorrow_base():
    from django.utils import timezone

    return (timezone.localtime() + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
