"""The persona × endpoint matrix for what tests/test_proposals_access.py's table does not reach: submitting,
reviews and grading, suggestions and placing, every session endpoint, and the call's figures. Exact codes,
written out: 401 anonymous, 404 for who may not see the proposal or session, 403 for who sees it but may
not act, 409 for a right person at the wrong moment."""

import datetime as dt

import pytest
from django.utils import timezone

from proposals.models import ReviewAssignment

from .factories.proposals import reviewer
from .test_proposals_access import submitted  # noqa: F401 - fixture
from .test_proposals_flow import draft

PERSONAS = ["researcher", "co", "office", "reviewer", "manager", "finance", "outsider", "admin", "anonymous"]

# Before the award: on the submitted proposal (`{pid}`), a draft (`{draft}`) and the reviewer's assignment.
PROPOSAL = {
    "submit draft": ("post", "/api/v1/proposals/{draft}/submit/", {}, (200, 404, 404, 404, 404, 404, 404, 403, 401)),
    "submit again": ("post", "/api/v1/proposals/{pid}/submit/", {}, (409, 409, 403, 403, 404, 404, 404, 403, 401)),
    "reviews": ("get", "/api/v1/reviews/", None, (200, 200, 200, 200, 200, 200, 200, 200, 401)),
    "grade": (
        "post",
        "/api/v1/reviews/{review}/grade/",
        {"grade": "4.0", "comment": "Sound."},
        (404, 404, 404, 200, 404, 404, 404, 404, 401),
    ),
    "figures": ("get", "/api/v1/reports/calls/{call}/", None, (403, 403, 200, 403, 200, 403, 403, 200, 401)),
}

# After the award of 3 shifts and one placed session (`{sid}`) of one shift.
SESSION = {
    "suggestions": (
        "get",
        "/api/v1/proposals/{pid}/suggestions/?request={req}&shifts=1",
        None,
        (403, 403, 200, 403, 404, 404, 404, 200, 401),
    ),
    "place": ("post", "/api/v1/proposals/{pid}/sessions/", "place", (403, 403, 201, 403, 404, 404, 404, 201, 401)),
    "confirm": ("post", "/api/v1/sessions/{sid}/confirm/", {}, (200, 200, 403, 403, 404, 404, 404, 403, 401)),
    "safety form": (
        "post",
        "/api/v1/sessions/{sid}/safety-form/",
        {"content": "Sealed cells."},
        (200, 200, 403, 403, 404, 404, 404, 403, 401),
    ),
    "approve safety": (
        "post",
        "/api/v1/sessions/{sid}/safety-form/approve/",
        {},
        (403, 403, 409, 403, 404, 404, 404, 409, 401),
    ),
    "fault": (
        "post",
        "/api/v1/sessions/{sid}/fault/",
        {"lost_shifts": 1},
        (403, 403, 409, 403, 404, 404, 404, 409, 401),
    ),
    "report": (
        "post",
        "/api/v1/sessions/{sid}/report/",
        {"content": "Clean data."},
        (409, 409, 403, 403, 404, 404, 404, 403, 401),
    ),
    "cancel": ("post", "/api/v1/sessions/{sid}/cancel/", {}, (200, 200, 200, 403, 404, 404, 404, 200, 401)),
}


def _user(world, submitted, rev, persona):  # noqa: F811
    users = {"co": submitted["co"], "office": submitted["office"], "reviewer": rev}
    return None if persona == "anonymous" else users.get(persona) or getattr(world, persona)


def _call(client, method, url, body):
    return getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)


@pytest.mark.parametrize("endpoint", list(PROPOSAL))
@pytest.mark.parametrize("persona", PERSONAS)
def test_proposal_matrix(world, submitted, persona, endpoint):  # noqa: F811
    rev = reviewer("rev1", "SJTU")
    review = ReviewAssignment.objects.create(
        proposal_id=submitted["pid"], reviewer=rev, assigned_by=submitted["office"]
    )
    other = draft(world, submitted["call"], title="Still a draft")
    method, path, body, codes = PROPOSAL[endpoint]
    url = path.format(pid=submitted["pid"], draft=other, review=review.pk, call=submitted["call"].pk)
    r = _call(world.client(_user(world, submitted, rev, persona)), method, url, body)
    assert r.status_code == codes[PERSONAS.index(persona)], (persona, endpoint, getattr(r, "data", None))


@pytest.mark.parametrize("endpoint", list(SESSION))
@pytest.mark.parametrize("persona", PERSONAS)
def test_session_matrix(world, submitted, persona, endpoint):  # noqa: F811
    pid, off = submitted["pid"], world.client(submitted["office"])
    for kind in ("feasibility", "safety"):
        off.post(f"/api/v1/proposals/{pid}/checks/", {"kind": kind, "passed": True}, format="json")
    rev = reviewer("rev1", "SJTU")
    ReviewAssignment.objects.create(proposal_id=pid, reviewer=rev, assigned_by=submitted["office"], grade="4.0")
    r = off.post(
        f"/api/v1/proposals/{pid}/award/", {"awards": [{"instrument": world.instrument.pk, "shifts": 3}]}, format="json"
    )
    assert r.status_code == 200, r.json()
    req = off.get(f"/api/v1/proposals/{pid}/").json()["requests"][0]["id"]
    start = dt.datetime.combine(submitted["call"].cycle_start + dt.timedelta(days=3), dt.time(8))
    start = timezone.make_aware(start)
    placed = off.post(
        f"/api/v1/proposals/{pid}/sessions/", {"request": req, "start": start.isoformat(), "shifts": 1}, format="json"
    )
    assert placed.status_code == 201, placed.json()
    method, path, body, codes = SESSION[endpoint]
    if body == "place":
        body = {"request": req, "start": (start + dt.timedelta(days=2)).isoformat(), "shifts": 1}
    url = path.format(pid=pid, req=req, sid=placed.json()["id"])
    r = _call(world.client(_user(world, submitted, rev, persona)), method, url, body)
    assert r.status_code == codes[PERSONAS.index(persona)], (persona, endpoint, getattr(r, "data", None))
