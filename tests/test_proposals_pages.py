"""The pages of each role, through the test client: the office opens a call, a researcher writes and
submits a proposal, a reviewer grades it, the office checks, awards and places a session, and the
researcher finds it on their proposal page, on the instrument's calendar and in their ICS feed."""

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from proposals.models import BeamSession, Call, Proposal, ReviewAssignment

from .factories.proposals import office, reviewer

pytestmark = pytest.mark.usefixtures("tasks_in_process")


def test_each_role_through_the_pages(world, client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    office_user = office(world)
    rev = reviewer("rev_page", "SJTU")
    today = timezone.localdate()
    now = timezone.localtime()

    client.force_login(office_user)
    assert client.get("/proposals/").status_code == 200
    r = client.post(
        "/calls/new/",
        {
            "facility": world.facility.pk,
            "code": "2027-9",
            "title": "Test call",
            "title_zh": "测试课题征集",
            "opens_at": (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (now + dt.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
            "cycle_start": (today + dt.timedelta(days=20)).isoformat(),
            "cycle_end": (today + dt.timedelta(days=90)).isoformat(),
            "offers": f"{world.instrument.code} 10 2",
        },
    )
    call = Call.objects.get(code="2027-9")
    assert r.status_code == 302 and call.offers.get().shifts_available == 10

    client.force_login(world.researcher)
    page = client.get("/proposals/")
    assert b"2027-9" in page.content
    form = client.get(f"/proposals/new/?call={call.pk}")
    assert form.status_code == 200 and b"<script>" not in form.content
    r = client.post(
        "/proposals/new/",
        {
            "call": call.pk,
            "track": "regular",
            "title": "Page-written proposal",
            "abstract": "Written in the browser.",
            f"shifts_{world.instrument.pk}": "2",
            "preferred_dates": (today + dt.timedelta(days=30)).isoformat(),
            "files": SimpleUploadedFile("notes.txt", b"plain notes", content_type="text/plain"),
            "submit": "1",
        },
    )
    proposal = Proposal.objects.get(title="Page-written proposal")
    assert r.status_code == 302 and proposal.status == "submitted" and proposal.files.count() == 1

    client.force_login(office_user)
    pid = proposal.pk
    for kind in ("feasibility", "safety"):
        client.post(f"/proposals/{pid}/check/", {"kind": kind, "passed": "yes"})
    client.post(f"/proposals/{pid}/assign/", {"reviewer": "rev_page"})
    assignment = ReviewAssignment.objects.get(proposal=proposal, reviewer=rev)

    client.force_login(rev)
    page = client.get(f"/proposals/{pid}/")
    assert b"Page-written proposal" in page.content and b"Save grade" in page.content
    client.post(f"/proposals/{pid}/grade/", {"assignment": assignment.pk, "grade": "4.2", "comment": "Good plan."})
    assignment.refresh_from_db()
    assert assignment.grade is not None

    client.force_login(office_user)
    ranking = client.get(f"/calls/{call.pk}/ranking/")
    assert ranking.status_code == 200 and b"4.20" in ranking.content
    client.post(f"/proposals/{pid}/award/", {f"award_{world.instrument.pk}": "2", "comment": "Enjoy."})
    proposal.refresh_from_db()
    assert proposal.status == "awarded"
    page = client.get(f"/proposals/{pid}/")
    start = re.search(rb'name="start" value="([^"]+)"', page.content).group(1).decode()
    request_id = proposal.requests.get().pk
    client.post(f"/proposals/{pid}/place/", {"request": request_id, "start": start, "shifts": "1"})
    session = BeamSession.objects.get(request__proposal=proposal)

    client.force_login(world.researcher)
    page = client.get(f"/proposals/{pid}/")
    assert b"Good plan." in page.content and b"rev_page" not in page.content  # comments without names
    assert b"Confirm" in page.content
    client.post(f"/proposals/{pid}/confirm/", {"session": session.pk})
    client.post(f"/proposals/{pid}/safety/", {"session": session.pk, "content": "Nothing hazardous."})
    client.force_login(office_user)
    client.post(f"/proposals/{pid}/approve_safety/", {"session": session.pk})
    session.booking.refresh_from_db()
    assert session.booking.status == "approved"

    client.force_login(world.researcher)
    week = timezone.localtime(session.booking.start).date().isoformat()
    calendar = client.get(f"/instruments/{world.instrument.pk}/?week={week}")
    assert calendar.status_code == 200 and b'<td class="booking own mine' in calendar.content
    feed = client.get(f"/calendar/{world.researcher.calendar_token}.ics")
    assert b"Beamtime P" in b"".join(feed.streaming_content if feed.streaming else [feed.content])
    # The file is served to the team.
    f = proposal.files.get()
    assert client.get(f"/proposals/{pid}/files/{f.pk}/").status_code == 200


def test_the_pages_refuse_who_may_not(world, client):
    client.force_login(world.researcher)
    assert client.get("/calls/new/").status_code == 403
    assert client.get("/proposals/999/").status_code == 404
    client.force_login(world.manager)
    assert client.get("/calls/new/").status_code == 403
    client.logout()
    assert client.get("/proposals/").status_code == 302
