"""Managers' closures and qualifications over HTTP, and who may not use them."""

import datetime as dt

import pytest

from facilities.models import Closure, Qualification

from .factories.facilities import FacilityFactory, InstrumentFactory

H = dt.timedelta(hours=1)


def closure_body(start, **extra):
    return {"start": start.isoformat(), "end": (start + 4 * H).isoformat(), "reason": "cryo refill", **extra}


def test_manager_adds_and_removes_a_closure_and_availability_follows(world, tomorrow_9):
    c = world.client(world.manager)
    avail = f"/api/v1/instruments/{world.instrument.pk}/availability/"
    window = {"start": tomorrow_9.isoformat(), "end": (tomorrow_9 + 8 * H).isoformat()}
    v0 = c.get(avail, window).json()["version"]
    r = c.post("/api/v1/facilities/FAC/closures/", closure_body(tomorrow_9, kind="shutdown"), format="json")
    assert r.status_code == 201, r.json()
    data = r.json()
    assert data["facility"] == "FAC" and data["instrument"] is None and data["kind"] == "shutdown"
    assert data["start"] == tomorrow_9.isoformat()
    snap = c.get(avail, window).json()
    assert snap["version"] == v0 + 1
    assert snap["busy"] == [
        {"start": tomorrow_9.isoformat(), "end": (tomorrow_9 + 4 * H).isoformat(), "kind": "closure"}
    ]
    assert c.delete(f"/api/v1/closures/{data['id']}/").status_code == 204
    snap = c.get(avail, window).json()
    assert snap["version"] == v0 + 2 and snap["busy"] == []
    assert not Closure.objects.exists()


def test_closure_of_one_instrument(world, tomorrow_9):
    r = world.client(world.manager).post(
        "/api/v1/facilities/FAC/closures/", closure_body(tomorrow_9, instrument=world.instrument.pk), format="json"
    )
    assert r.status_code == 201 and r.json()["instrument"] == world.instrument.pk


def test_closure_input_is_checked(world, tomorrow_9):
    c = world.client(world.manager)
    other = InstrumentFactory(facility=FacilityFactory(code="OTHER"))
    cases = [
        (closure_body(tomorrow_9, instrument=other.pk), "instrument", "has no instrument"),
        ({**closure_body(tomorrow_9), "start": "2026-12-01T09:00:00"}, "start", "UTC offset"),
        ({**closure_body(tomorrow_9), "end": tomorrow_9.isoformat()}, "end", "after it starts"),
        ({**closure_body(tomorrow_9), "kind": "party"}, "kind", "not a valid choice"),
        ({**closure_body(tomorrow_9), "reason": "x" * 201}, "reason", "200"),
    ]
    for payload, field, words in cases:
        r = c.post("/api/v1/facilities/FAC/closures/", payload, format="json")
        assert r.status_code == 400, (field, r.json())
        assert words in str(r.json()), (field, r.json())
    assert (
        c.generic("POST", "/api/v1/facilities/FAC/closures/", b"{", content_type="application/json").status_code == 400
    )
    assert not Closure.objects.exists()


@pytest.mark.parametrize(
    "persona,expected",
    [
        ("researcher", 403),
        ("finance", 403),
        ("outsider", 403),
        (None, 401),
        ("admin", 201),
        ("manager", 201),
    ],
)
def test_who_may_add_closures(world, tomorrow_9, persona, expected):
    user = getattr(world, persona) if persona else None
    r = world.client(user).post("/api/v1/facilities/FAC/closures/", closure_body(tomorrow_9), format="json")
    assert r.status_code == expected and r.json()
    assert Closure.objects.count() == (1 if expected == 201 else 0)


def test_closures_of_other_facilities_and_unknown_ones(world, tomorrow_9):
    other = FacilityFactory(code="OTHER")
    closure = Closure.objects.create(facility=other, start=tomorrow_9, end=tomorrow_9 + H)
    c = world.client(world.manager)
    assert c.post("/api/v1/facilities/OTHER/closures/", closure_body(tomorrow_9), format="json").status_code == 403
    assert c.delete(f"/api/v1/closures/{closure.pk}/").status_code == 403
    assert c.delete("/api/v1/closures/999999/").status_code == 404
    assert c.post("/api/v1/facilities/NOPE/closures/", closure_body(tomorrow_9), format="json").status_code == 404
    assert world.client(world.researcher).delete(f"/api/v1/closures/{closure.pk}/").status_code == 403
    assert Closure.objects.filter(pk=closure.pk).exists()


def test_qualification_grant_and_revoke_change_who_may_book(world, tomorrow_9):
    world.instrument.requires_qualification = True
    world.instrument.save()
    booking = {"instrument": world.instrument.pk, "start": tomorrow_9.isoformat(), "end": (tomorrow_9 + H).isoformat()}
    r = world.client(world.researcher).post("/api/v1/bookings/", booking, format="json")
    assert r.status_code == 400 and "Qualification" in r.json()["detail"]
    url = f"/api/v1/instruments/{world.instrument.pk}/qualifications/"
    m = world.client(world.manager)
    r = m.post(url, {"username": "res"}, format="json")
    assert r.status_code == 201 and r.json()["username"] == "res" and r.json()["granted_by"] == "mgr"
    assert m.post(url, {"username": "res"}, format="json").status_code == 201  # granting again changes nothing
    assert Qualification.objects.filter(revoked_at__isnull=True).count() == 1
    assert world.client(world.researcher).post("/api/v1/bookings/", booking, format="json").status_code == 201
    assert m.delete(f"{url}?username=res").status_code == 204
    assert m.delete(url, {"username": "res"}, format="json").status_code == 404
    later = {**booking, "start": (tomorrow_9 + H).isoformat(), "end": (tomorrow_9 + 2 * H).isoformat()}
    assert world.client(world.researcher).post("/api/v1/bookings/", later, format="json").status_code == 400


def test_qualification_input_and_permissions(world):
    url = f"/api/v1/instruments/{world.instrument.pk}/qualifications/"
    m = world.client(world.manager)
    assert "No user is named" in m.post(url, {"username": "nobody"}, format="json").json()["username"][0]
    assert m.post(url, {"username": 5}, format="json").status_code == 400
    assert m.post(url, {}, format="json").status_code == 400
    assert m.post("/api/v1/instruments/999999/qualifications/", {"username": "res"}, format="json").status_code == 404
    # Outsiders learn nothing, not even whether a username exists.
    for user, code in ((world.researcher, 403), (world.finance, 403), (world.outsider, 403), (None, 401)):
        assert world.client(user).post(url, {"username": "nobody"}, format="json").status_code == code
        assert world.client(user).delete(f"{url}?username=res").status_code == code
    assert world.client(world.admin).post(url, {"username": "out"}, format="json").status_code == 201
    assert not Qualification.objects.filter(user=world.researcher).exists()
