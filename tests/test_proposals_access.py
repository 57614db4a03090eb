"""Who may touch which proposal: conflicts of interest, and the persona × endpoint matrix."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from proposals.models import ProposalFile, ReviewAssignment
from proposals.selectors import proposals_visible_to, reviews_of

from .factories.facilities import InstitutionFactory, UserFactory, member
from .factories.proposals import make_call, office, reviewer
from .test_proposals_flow import draft


@pytest.fixture
def submitted(world, settings, tmp_path):
    """A submitted proposal by the USTC researcher with an NJU co-proposer, one file, staff checks."""
    settings.MEDIA_ROOT = tmp_path
    call = make_call(world)
    co = UserFactory(username="co")
    member(co, InstitutionFactory(code="NJU"), "researcher")
    off = office(world)
    pid = draft(world, call, team=[{"username": "co", "role": "co_proposer"}])
    team = world.client(world.researcher)
    upload = SimpleUploadedFile("plan.pdf", b"%PDF-1.4 x", content_type="application/pdf")
    file_id = team.post(f"/api/v1/proposals/{pid}/files/", {"file": upload}, format="multipart").json()["id"]
    assert team.post(f"/api/v1/proposals/{pid}/submit/").status_code == 200
    return {"call": call, "pid": pid, "office": off, "co": co, "file": file_id}


@pytest.mark.parametrize("institution", ["USTC", "NJU"])
def test_a_conflicted_reviewer_cannot_be_assigned(world, submitted, institution):
    rev = reviewer("conflicted", institution)  # the PI's institution, or the co-proposer's
    r = world.client(submitted["office"]).post(
        f"/api/v1/proposals/{submitted['pid']}/reviewers/", {"reviewer": "conflicted"}, format="json"
    )
    assert r.status_code == 409 and r.json()["code"] == "conflict_of_interest"
    assert not ReviewAssignment.objects.filter(reviewer=rev).exists()


def test_a_team_member_who_also_reviews_cannot_review_their_own(world, submitted):
    co = submitted["co"]
    member(co, InstitutionFactory(code="NJU"), "reviewer")
    r = world.client(submitted["office"]).post(
        f"/api/v1/proposals/{submitted['pid']}/reviewers/", {"reviewer": "co"}, format="json"
    )
    assert r.status_code == 409


def test_a_conflicted_reviewer_sees_nothing_even_if_assigned(world, submitted, client):
    """An assignment written past the service (e.g. through the admin) still shows the reviewer nothing."""
    pid = submitted["pid"]
    rev = reviewer("sneaky", "USTC")
    a = ReviewAssignment.objects.create(proposal_id=pid, reviewer=rev, assigned_by=submitted["office"])
    api = world.client(rev)
    assert api.get("/api/v1/reviews/").json()["count"] == 0
    assert api.get("/api/v1/proposals/").json()["count"] == 0
    assert api.get(f"/api/v1/proposals/{pid}/").status_code == 404
    assert api.get(f"/api/v1/proposals/{pid}/files/{submitted['file']}/").status_code == 404
    assert (
        api.post(f"/api/v1/reviews/{a.pk}/grade/", {"grade": "5.0", "comment": "great"}, format="json").status_code
        == 404
    )
    assert not proposals_visible_to(rev).exists() and not reviews_of(rev).exists()
    # Pages too.
    client.force_login(rev)
    assert client.get(f"/proposals/{pid}/").status_code == 404
    page = client.get("/proposals/")
    assert page.status_code == 200 and b"Operando XAS" not in page.content
    # A reviewer without conflict sees it, through pages and API.
    ok = reviewer("fair", "SJTU")
    ReviewAssignment.objects.create(proposal_id=pid, reviewer=ok, assigned_by=submitted["office"])
    assert world.client(ok).get(f"/api/v1/proposals/{pid}/").status_code == 200
    client.force_login(ok)
    assert b"Operando XAS" in client.get(f"/proposals/{pid}/").content


def test_files_are_checked_and_served_only_to_those_who_see_the_proposal(world, submitted, settings):
    pid, team = submitted["pid"], world.client(world.researcher)
    fake = SimpleUploadedFile("evil.pdf", b"MZ\x90\x00", content_type="application/pdf")
    draft_id = draft(world, submitted["call"], title="Draft")
    assert team.post(f"/api/v1/proposals/{draft_id}/files/", {"file": fake}, format="multipart").status_code == 400
    exe = SimpleUploadedFile("run.exe", b"MZ", content_type="application/octet-stream")
    assert team.post(f"/api/v1/proposals/{draft_id}/files/", {"file": exe}, format="multipart").status_code == 400
    settings.PROPOSALS_MAX_FILE_BYTES = 10
    big = SimpleUploadedFile("big.txt", b"x" * 11, content_type="text/plain")
    assert team.post(f"/api/v1/proposals/{draft_id}/files/", {"file": big}, format="multipart").status_code == 400
    r = team.get(f"/api/v1/proposals/{pid}/files/{submitted['file']}/")
    assert r.status_code == 200 and b"".join(r.streaming_content).startswith(b"%PDF")
    assert world.client(world.outsider).get(f"/api/v1/proposals/{pid}/files/{submitted['file']}/").status_code == 404
    assert ProposalFile.objects.get(pk=submitted["file"]).file.path.startswith(str(settings.MEDIA_ROOT))


def test_the_request_body_limit_is_raised_only_for_uploads(world, submitted, client, settings):
    client.force_login(world.researcher)
    big = b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
    r = client.generic("POST", "/api/v1/proposals/", big, content_type="application/json")
    assert r.status_code == 413
    body = SimpleUploadedFile("big.txt", big, content_type="text/plain")
    r = world.client(world.researcher).post(
        f"/api/v1/proposals/{submitted['pid']}/files/", {"file": body}, format="multipart"
    )
    assert r.status_code != 413


# persona × endpoint on a submitted proposal of the researcher (with the NJU co-proposer). The table is
# the specification: 401 anonymous, 404 for who may not see it, 403 for who sees it but may not act.
PERSONAS = ["researcher", "co", "office", "reviewer", "manager", "finance", "outsider", "admin", "anonymous"]
MATRIX = {
    # endpoint: (method, path, body, codes in PERSONAS order)
    "detail": ("get", "/api/v1/proposals/{pid}/", None, (200, 200, 200, 200, 404, 404, 404, 200, 401)),
    "edit": ("patch", "/api/v1/proposals/{pid}/", {"samples": "x"}, (200, 200, 403, 403, 404, 404, 404, 403, 401)),
    "check": (
        "post",
        "/api/v1/proposals/{pid}/checks/",
        {"kind": "safety", "passed": True},
        (403, 403, 200, 403, 404, 404, 404, 200, 401),
    ),
    "assign": (
        "post",
        "/api/v1/proposals/{pid}/reviewers/",
        {"reviewer": "rev2"},
        (403, 403, 201, 403, 404, 404, 404, 201, 401),
    ),
    "award": (
        "post",
        "/api/v1/proposals/{pid}/award/",
        {"awards": []},
        (403, 403, 200, 403, 404, 404, 404, 200, 401),
    ),
    "panel": (
        "post",
        "/api/v1/proposals/{pid}/panel/",
        {"panel": "energy"},
        (403, 403, 200, 403, 404, 404, 404, 200, 401),
    ),
    "ledger": ("get", "/api/v1/proposals/{pid}/ledger/", None, (200, 200, 200, 403, 404, 404, 404, 200, 401)),
    "sessions": ("get", "/api/v1/proposals/{pid}/sessions/", None, (200, 200, 200, 403, 404, 404, 404, 200, 401)),
    "ranking": ("get", "/api/v1/calls/{call}/ranking/", None, (403, 403, 200, 403, 403, 403, 403, 200, 401)),
    "file": ("get", "/api/v1/proposals/{pid}/files/{file}/", None, (200, 200, 200, 200, 404, 404, 404, 200, 401)),
    "withdraw": ("post", "/api/v1/proposals/{pid}/withdraw/", {}, (200, 200, 403, 403, 404, 404, 404, 403, 401)),
}


@pytest.mark.parametrize("endpoint", list(MATRIX))
@pytest.mark.parametrize("persona", PERSONAS)
def test_permission_matrix(world, submitted, persona, endpoint):
    rev = reviewer("rev1", "SJTU")
    reviewer("rev2", "TJU")
    ReviewAssignment.objects.create(proposal_id=submitted["pid"], reviewer=rev, assigned_by=submitted["office"])
    users = {"co": submitted["co"], "office": submitted["office"], "reviewer": rev}
    user = None if persona == "anonymous" else users.get(persona) or getattr(world, persona)
    client = world.client(user)
    method, path, body, codes = MATRIX[endpoint]
    if endpoint == "award":
        for kind in ("feasibility", "safety"):
            world.client(submitted["office"]).post(
                f"/api/v1/proposals/{submitted['pid']}/checks/", {"kind": kind, "passed": True}, format="json"
            )
        ReviewAssignment.objects.filter(reviewer=rev).update(grade="3.0")
    url = path.format(pid=submitted["pid"], call=submitted["call"].pk, file=submitted["file"])
    r = getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)
    assert r.status_code == codes[PERSONAS.index(persona)], (persona, endpoint, getattr(r, "data", None))


def test_placing_and_acting_on_sessions_is_refused_to_the_wrong_people(world, submitted):
    import datetime as dt

    from django.utils import timezone

    pid, off = submitted["pid"], world.client(submitted["office"])
    for kind in ("feasibility", "safety"):
        off.post(f"/api/v1/proposals/{pid}/checks/", {"kind": kind, "passed": True}, format="json")
    rev = reviewer("rev1", "SJTU")
    ReviewAssignment.objects.create(proposal_id=pid, reviewer=rev, assigned_by=submitted["office"], grade="4.0")
    off.post(
        f"/api/v1/proposals/{pid}/award/", {"awards": [{"instrument": world.instrument.pk, "shifts": 3}]}, format="json"
    )
    req = off.get(f"/api/v1/proposals/{pid}/").json()["requests"][0]["id"]
    start = (timezone.localtime() + dt.timedelta(days=30)).replace(hour=8, minute=0, second=0, microsecond=0)
    body = {"request": req, "start": start.isoformat(), "shifts": 1}
    for user, code in ((world.researcher, 403), (rev, 403), (world.manager, 404), (world.outsider, 404)):
        assert world.client(user).post(f"/api/v1/proposals/{pid}/sessions/", body, format="json").status_code == code
    sid = off.post(f"/api/v1/proposals/{pid}/sessions/", body, format="json").json()["id"]
    for action, payload in (("confirm", None), ("safety-form", {"content": "x"}), ("report", {"content": "x"})):
        for user, code in ((rev, 403), (world.outsider, 404), (world.finance, 404)):
            r = world.client(user).post(f"/api/v1/sessions/{sid}/{action}/", payload or {}, format="json")
            assert r.status_code == code, (action, user.username, r.status_code)
    for user, code in ((world.researcher, 403), (rev, 403), (world.outsider, 404)):
        assert world.client(user).post(f"/api/v1/sessions/{sid}/safety-form/approve/").status_code == code
        assert (
            world.client(user).post(f"/api/v1/sessions/{sid}/fault/", {"lost_shifts": 1}, format="json").status_code
            == code
        )
    assert world.client(None).post(f"/api/v1/sessions/{sid}/confirm/").status_code == 401
    # Anonymous users can read calls, never write them.
    assert world.client(None).get("/api/v1/calls/").status_code == 200
    today = timezone.localdate()
    call = {
        "facility": world.facility.pk,
        "code": "X-1",
        "title": "Not yours",
        "opens_at": timezone.now().isoformat(),
        "closes_at": (timezone.now() + dt.timedelta(days=3)).isoformat(),
        "cycle_start": (today + dt.timedelta(days=10)).isoformat(),
        "cycle_end": (today + dt.timedelta(days=40)).isoformat(),
    }
    for user, code in (
        (world.researcher, 403),
        (world.manager, 403),
        (rev, 403),
        (None, 401),
        (submitted["office"], 201),
    ):
        assert world.client(user).post("/api/v1/calls/", call, format="json").status_code == code
    call_id = submitted["call"].pk
    offer = {"instrument": world.instrument.pk, "shifts_available": 5}
    assert world.client(world.manager).post(f"/api/v1/calls/{call_id}/offers/", offer, format="json").status_code == 403


def test_lists_cost_the_same_few_queries_at_any_size(world, submitted, client, django_assert_max_num_queries):
    for i in range(8):
        draft(world, submitted["call"], title=f"More {i}")
    api = world.client(world.researcher)
    with django_assert_max_num_queries(8):
        r = api.get("/api/v1/proposals/")
    assert r.json()["count"] == 9
    client.force_login(world.researcher)
    with django_assert_max_num_queries(16):
        page = client.get("/proposals/")
    assert page.content.count(b"More ") == 8


def test_the_admin_lists_proposals(world, submitted, client):
    client.force_login(world.admin)
    assert client.get("/admin/proposals/proposal/").status_code == 200
    assert client.get(f"/admin/proposals/proposal/{submitted['pid']}/change/").status_code == 200
