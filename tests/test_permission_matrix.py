"""Who may do what to whose booking: every booking endpoint × persona × owner, with exact codes.

Owners: `res` (the USTC researcher's booking at FAC, paid by USTC), `out` (the ZJU outsider's booking
at FAC), `far` (the outsider's booking at another facility, which `manager` does not manage).
The expected codes are written out in full rather than derived, so the table is the specification.
"""

import datetime as dt

import pytest
from django.utils import timezone

from booking.models import Booking

from .factories.booking import BookingFactory
from .factories.facilities import FacilityFactory, InstrumentFactory

H = dt.timedelta(hours=1)
PERSONAS = ["researcher", "manager", "finance", "outsider", "admin", "anonymous"]
OWNERS = ["res", "out", "far"]

# persona: codes for owners res, out, far
SEE = {
    "researcher": (200, 404, 404),
    "manager": (200, 200, 404),
    "finance": (200, 404, 404),
    "outsider": (404, 200, 200),
    "admin": (200, 200, 200),
    "anonymous": (401, 401, 401),
}
DECIDE = {  # approve, reject, complete, no-show: that facility's managers and platform admins
    "researcher": (403, 404, 404),
    "manager": (200, 200, 404),
    "finance": (403, 404, 404),
    "outsider": (404, 403, 403),
    "admin": (200, 200, 200),
    "anonymous": (401, 401, 401),
}
CANCEL = {  # the requester or a manager of the facility
    "researcher": (200, 404, 404),
    "manager": (200, 200, 404),
    "finance": (403, 404, 404),
    "outsider": (404, 200, 200),
    "admin": (200, 200, 200),
    "anonymous": (401, 401, 401),
}
ACTIONS = {
    # action: (table, status the booking starts in, whether it has already started, status after success)
    "detail": (SEE, Booking.Status.APPROVED, False, Booking.Status.APPROVED),
    "approve": (DECIDE, Booking.Status.REQUESTED, False, Booking.Status.APPROVED),
    "reject": (DECIDE, Booking.Status.REQUESTED, False, Booking.Status.REJECTED),
    "cancel": (CANCEL, Booking.Status.APPROVED, False, Booking.Status.CANCELLED),
    "complete": (DECIDE, Booking.Status.APPROVED, True, Booking.Status.COMPLETED),
    "no-show": (DECIDE, Booking.Status.APPROVED, True, Booking.Status.NO_SHOW),
}


def client_for(world, persona):
    return world.client(None if persona == "anonymous" else getattr(world, persona))


def make_booking(world, owner: str, status: str, started: bool) -> Booking:
    base = timezone.localtime().replace(minute=0, second=0, microsecond=0)
    start = base - 2 * H if started else base + dt.timedelta(days=2)
    start -= OWNERS.index(owner) * H  # each owner's booking at its own hour: held bookings never overlap
    if owner == "res":
        who, inst, account, instrument = world.researcher, world.ustc, world.researcher_account, world.instrument
    else:
        who, inst, account = world.outsider, world.zju, world.outsider_account
        instrument = (
            world.instrument
            if owner == "out"
            else InstrumentFactory(facility=FacilityFactory(code="FAR", host=world.zju))
        )
    return BookingFactory(
        instrument=instrument,
        requester=who,
        institution=inst,
        start=start,
        end=start + H,
        status=status,
        account=account,
        purpose=f"purpose of {owner}",
    )


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("persona", PERSONAS)
def test_booking_endpoint_matrix(world, action, persona):
    """One persona, one action, against each owner's booking (a fresh booking each)."""
    table, status, started, after = ACTIONS[action]
    c = client_for(world, persona)
    got = {}
    for owner in OWNERS:
        booking = make_booking(world, owner, status, started)
        if action == "detail":
            r = c.get(f"/api/v1/bookings/{booking.pk}/")
        else:
            r = c.post(f"/api/v1/bookings/{booking.pk}/{action}/", {}, format="json")
        got[owner] = r.status_code
        assert r.json(), "every answer says something"
        booking.refresh_from_db()
        if r.status_code == 200:
            assert r.json()["status"] == after and booking.status == after
            assert r.json()["purpose"] == f"purpose of {owner}"
        else:
            assert booking.status == status, "a refused request changes nothing"
            assert "purpose of" not in r.content.decode()
    assert got == dict(zip(OWNERS, table[persona], strict=True))


LISTED = {
    "researcher": {"res"},
    "manager": {"res", "out"},
    "finance": {"res"},
    "outsider": {"out", "far"},
    "admin": {"res", "out", "far"},
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_list_matrix(world, persona):
    ids = {owner: make_booking(world, owner, Booking.Status.APPROVED, False).pk for owner in OWNERS}
    r = client_for(world, persona).get("/api/v1/bookings/")
    if persona == "anonymous":
        assert r.status_code == 401 and r.json()["detail"]
        return
    assert r.status_code == 200
    assert {b["id"] for b in r.json()["results"]} == {ids[o] for o in LISTED[persona]}


CREATE = {"researcher": 201, "outsider": 201, "manager": 403, "finance": 403, "admin": 403, "anonymous": 401}


@pytest.mark.parametrize("persona", PERSONAS)
def test_create_matrix(world, tomorrow_9, persona):
    body = {"instrument": world.instrument.pk, "start": tomorrow_9.isoformat(), "end": (tomorrow_9 + H).isoformat()}
    r = client_for(world, persona).post("/api/v1/bookings/", body, format="json")
    assert r.status_code == CREATE[persona], r.json()
    assert Booking.objects.count() == (1 if CREATE[persona] == 201 else 0)
    if r.status_code == 403:
        assert "researcher" in r.json()["detail"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_public_availability_matrix(world, persona):
    make_booking(world, "res", Booking.Status.APPROVED, False)
    c = client_for(world, persona)
    r = c.get(f"/api/v1/instruments/{world.instrument.pk}/availability/")
    assert r.status_code == 200 and len(r.json()["busy"]) == 1
    assert "purpose" not in r.content.decode() and "res" not in r.json()["busy"][0].values()
    r = c.get("/api/v1/availability/", {"instruments": str(world.instrument.pk), "duration_minutes": "60"})
    assert r.status_code == 200 and r.json()["windows"]
