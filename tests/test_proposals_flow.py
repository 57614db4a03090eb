"""Beamtime by proposal, end to end through the API: call → proposal → staff checks → grades → ranking
and cutoff → award → sessions on the instrument's calendar → safety form → used → report; and the
rapid-access path, which skips the panel."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from booking.models import Booking
from booking.selectors import bookings_visible_to
from booking.tasks import complete_ended_bookings, expire_stale_requests
from proposals.models import BeamSession, Proposal
from proposals.tasks import remind_safety_forms

from .factories.booking import BookingFactory
from .factories.facilities import InstitutionFactory, UserFactory, member
from .factories.proposals import make_call, office, reviewer

pytestmark = pytest.mark.usefixtures("tasks_in_process")


@pytest.fixture
def setup(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call = make_call(world)
    co = UserFactory(username="co")
    member(co, InstitutionFactory(code="NJU"), "researcher")
    return {
        "call": call,
        "office": office(world),
        "rev_a": reviewer("rev_a", "SJTU"),
        "rev_b": reviewer("rev_b", "TJU"),
        "co": co,
    }


def draft(world, call, user=None, *, title="Operando XAS of sodium cathodes", shifts=6, track="regular", team=None):
    body = {
        "call": call.pk,
        "track": track,
        "title": title,
        "abstract": "We follow the Na K-edge while cycling.",
        "samples": "NaxMnO2 pellets",
        "hazards": "none beyond standard",
        "preferred_dates": [(call.cycle_start + dt.timedelta(days=10)).isoformat()],
        "impossible_dates": [(call.cycle_start + dt.timedelta(days=15)).isoformat()],
        "team": team if team is not None else [],
        "requests": [{"instrument": world.instrument.pk, "shifts": shifts}],
    }
    r = world.client(user or world.researcher).post("/api/v1/proposals/", body, format="json")
    assert r.status_code == 201, r.json()
    return r.json()["id"]


def test_from_call_to_report(world, setup, committed):
    call, office_user, co = setup["call"], setup["office"], setup["co"]
    team = world.client(world.researcher)
    off = world.client(office_user)

    # 1. The call is public and bilingual.
    r = world.client(None).get(f"/api/v1/calls/{call.pk}/")
    assert r.status_code == 200 and r.json()["title_zh"] == "2027-1 期课题申请"
    assert r.json()["offers"][0]["shifts_available"] == 12

    # 2. Two proposals; the first names a co-proposer from another institution, who sees it.
    p1 = draft(world, call, team=[{"username": "co", "role": "co_proposer"}], shifts=6)
    p2 = draft(world, call, world.outsider, title="Second proposal", shifts=6)
    assert world.client(co).get(f"/api/v1/proposals/{p1}/").json()["viewer_role"] == "team"
    upload = SimpleUploadedFile("plan.pdf", b"%PDF-1.4 plan", content_type="application/pdf")
    r = team.post(f"/api/v1/proposals/{p1}/files/", {"file": upload}, format="multipart")
    assert r.status_code == 201, r.json()
    file_id = r.json()["id"]
    assert team.patch(f"/api/v1/proposals/{p1}/", {"samples": "NaxMnO2, 5 pellets"}, format="json").status_code == 200
    # The office does not see drafts.
    assert off.get(f"/api/v1/proposals/{p1}/").status_code == 404
    for pid, client in ((p1, team), (p2, world.client(world.outsider))):
        assert committed(client.post, f"/api/v1/proposals/{pid}/submit/").status_code == 200
    assert any("submitted" in m.subject.lower() for m in mail.outbox)
    # Still editable until the deadline.
    assert team.patch(f"/api/v1/proposals/{p1}/", {"abstract": "Revised."}, format="json").status_code == 200

    # 3. Feasibility and safety; reviewers; grades.
    for pid in (p1, p2):
        for kind in ("feasibility", "safety"):
            r = off.post(
                f"/api/v1/proposals/{pid}/checks/", {"kind": kind, "passed": True, "comment": "ok"}, format="json"
            )
            assert r.status_code == 200, r.json()
        for name in ("rev_a", "rev_b"):
            assert (
                committed(
                    off.post, f"/api/v1/proposals/{pid}/reviewers/", {"reviewer": name}, format="json"
                ).status_code
                == 201
            )
    grades = {("rev_a", p1): "4.5", ("rev_b", p1): "4.0", ("rev_a", p2): "3.0", ("rev_b", p2): "2.0"}
    for name in ("rev_a", "rev_b"):
        client = world.client(setup[name])
        reviews = client.get("/api/v1/reviews/").json()["results"]
        assert {x["proposal"] for x in reviews} == {p1, p2}
        # A reviewer sees neither other grades nor the staff checks.
        shown = client.get(f"/api/v1/proposals/{p1}/").json()
        assert shown["viewer_role"] == "reviewer" and shown["reviews"] == [] and shown["checks"] == []
        assert client.get(f"/api/v1/proposals/{p1}/files/{file_id}/").status_code == 200
        for x in reviews:
            body = {"grade": grades[(name, x["proposal"])], "comment": f"Comment by {name}"}
            assert client.post(f"/api/v1/reviews/{x['id']}/grade/", body, format="json").status_code == 200

    # Ranked list and cutoff: 12 shifts, 3 kept for rapid access → 9 for the panel; p1 (4.25) fits, p2 does not.
    ranking = off.get(f"/api/v1/calls/{call.pk}/ranking/").json()["instruments"][0]
    assert ranking["panel_shifts"] == 9 and ranking["requested"] == 12
    assert ranking["oversubscription"] == "1.33"
    assert [(row["proposal"], row["grade"], row["above_cutoff"]) for row in ranking["proposals"]] == [
        (p1, "4.25", True),
        (p2, "2.50", False),
    ]
    assert ranking["cutoff_grade"] == "4.25"
    assert world.client(world.researcher).get(f"/api/v1/calls/{call.pk}/ranking/").status_code == 403

    # 4. Award: all of p1, part of p2 (3 of the 6 asked; the panel has 3 left), anonymous comments to the team.
    mail.outbox.clear()
    body = {"awards": [{"instrument": world.instrument.pk, "shifts": 6}], "comment": "Congratulations."}
    r = committed(off.post, f"/api/v1/proposals/{p1}/award/", body, format="json")
    assert r.status_code == 200 and r.json()["status"] == "awarded", r.json()
    over = {"awards": [{"instrument": world.instrument.pk, "shifts": 4}]}
    assert off.post(f"/api/v1/proposals/{p2}/award/", over, format="json").status_code == 400
    part = {"awards": [{"instrument": world.instrument.pk, "shifts": 3}]}
    assert off.post(f"/api/v1/proposals/{p2}/award/", part, format="json").status_code == 200
    to_team = [m for m in mail.outbox if "awarded" in m.subject.lower() and world.researcher.email in m.to]
    assert (
        to_team
        and "Comment by rev_a" in to_team[0].body
        and "rev_a" not in to_team[0].body.replace("Comment by rev_a", "")
    )
    shown = team.get(f"/api/v1/proposals/{p1}/").json()
    assert shown["reviews"] == [{"comment": "Comment by rev_a"}, {"comment": "Comment by rev_b"}]
    assert all("reviewer" not in x and "grade" not in x for x in shown["reviews"])

    # 5. Sessions: the office asks for suggestions (the team's preferred date first) and places 3 + 3 shifts.
    request_id = shown["requests"][0]["id"]
    starts = off.get(f"/api/v1/proposals/{p1}/suggestions/?request={request_id}&shifts=3").json()["starts"]
    preferred = call.cycle_start + dt.timedelta(days=10)
    assert starts[0].startswith(preferred.isoformat())
    r = committed(
        off.post,
        f"/api/v1/proposals/{p1}/sessions/",
        {"request": request_id, "start": starts[0], "shifts": 3},
        format="json",
    )
    assert r.status_code == 201, r.json()
    s1 = r.json()
    assert s1["booking_status"] == "requested" and s1["blocked"] is True
    later = dt.datetime.fromisoformat(starts[0]) + dt.timedelta(days=30)
    r = off.post(
        f"/api/v1/proposals/{p1}/sessions/",
        {"request": request_id, "start": later.isoformat(), "shifts": 3},
        format="json",
    )
    assert r.status_code == 201
    s2 = r.json()
    # No more than awarded.
    r = off.post(
        f"/api/v1/proposals/{p1}/sessions/",
        {"request": request_id, "start": (later + dt.timedelta(days=5)).isoformat(), "shifts": 1},
        format="json",
    )
    assert r.status_code == 400
    # The session is a booking on the instrument's calendar: an hourly booking cannot take that time.
    clash = {
        "instrument": world.instrument.pk,
        "start": starts[0],
        "end": (dt.datetime.fromisoformat(starts[0]) + dt.timedelta(hours=1)).isoformat(),
    }
    r = world.client(world.outsider).post("/api/v1/bookings/", clash, format="json")
    assert r.status_code == 409 and r.json()["code"] == "slot_unavailable"
    busy = (
        world.client(None)
        .get(
            f"/api/v1/instruments/{world.instrument.pk}/availability/",
            {"start": starts[0], "end": (dt.datetime.fromisoformat(starts[0]) + dt.timedelta(days=1)).isoformat()},
        )
        .json()
    )
    assert busy["busy"], busy

    # 7. The team confirms; the session stays blocked until the safety form is approved.
    assert team.post(f"/api/v1/sessions/{s1['id']}/confirm/").json()["booking_status"] == "requested"
    session = BeamSession.objects.get(pk=s1["id"])
    before_deadline = session.booking.start - dt.timedelta(days=10)
    assert remind_safety_forms(now=before_deadline.isoformat()) >= 1
    assert any("safety form" in m.subject.lower() for m in mail.outbox)
    r = team.post(f"/api/v1/sessions/{s1['id']}/safety-form/", {"content": "Pellets in sealed cells."}, format="json")
    assert r.status_code == 200 and r.json()["blocked"] is True
    assert team.post(f"/api/v1/sessions/{s1['id']}/safety-form/approve/").status_code == 403
    r = committed(off.post, f"/api/v1/sessions/{s1['id']}/safety-form/approve/")
    assert r.status_code == 200 and r.json()["blocked"] is False and r.json()["booking_status"] == "approved"
    # It is on the PI's own bookings (and so in their calendar feed) as beamtime.
    mine = bookings_visible_to(world.researcher).get(pk=s1["booking"])
    assert mine.kind == Booking.Kind.BEAMTIME
    feed = world.client(None).get(f"/calendar/{world.researcher.calendar_token}.ics")
    assert feed.status_code == 200 and b"Beamtime P" in b"".join(
        feed.streaming_content if feed.streaming else [feed.content]
    )

    # The second session never gets its safety form: at its start it expires, and its shifts are forfeited.
    s2_booking = BeamSession.objects.get(pk=s2["id"]).booking
    expire_stale_requests(now=(s2_booking.start + dt.timedelta(minutes=1)).isoformat())

    # Used: the booking layer completes the session after it ends.
    assert complete_ended_bookings(now=(session.booking.end + dt.timedelta(days=1)).isoformat()) == 1
    ledger = team.get(f"/api/v1/proposals/{p1}/ledger/").json()["instruments"][0]
    assert ledger == {
        "request": request_id,
        "instrument": world.instrument.pk,
        "requested": 6,
        "awarded": 6,
        "scheduled": 0,
        "used": 3,
        "used_hours": "24.00",
        "lost": 0,
        "forfeited": 3,
        "to_schedule": 0,
    }
    # A missing report shows on the team's next proposal, until the report is in.
    p3 = draft(world, call, title="Follow-up")
    assert team.get(f"/api/v1/proposals/{p3}/").json()["missing_reports"] == [s1["id"]]
    r = team.post(f"/api/v1/sessions/{s1['id']}/report/", {"content": "Clean spectra of all cycles."}, format="json")
    assert r.status_code == 200 and r.json()["report"] is True
    assert team.get(f"/api/v1/proposals/{p3}/").json()["missing_reports"] == []
    # Forfeited time returned to the rapid-access pool.
    from proposals.selectors import pools

    assert pools(call)[world.instrument.pk].returned == 3
    assert Proposal.objects.get(pk=p1).events.filter(verb="awarded").exists()


def test_rapid_access_skips_the_panel(world, setup, committed):
    call, off = setup["call"], world.client(setup["office"])
    team = world.client(world.researcher)
    pid = draft(world, call, track="rapid", shifts=2)
    assert team.post(f"/api/v1/proposals/{pid}/submit/").status_code == 200
    # No panel for rapid access, and no edits after submission.
    assert off.post(f"/api/v1/proposals/{pid}/reviewers/", {"reviewer": "rev_a"}, format="json").status_code == 409
    assert team.patch(f"/api/v1/proposals/{pid}/", {"abstract": "x"}, format="json").status_code == 409
    body = {"awards": [{"instrument": world.instrument.pk, "shifts": 2}]}
    assert off.post(f"/api/v1/proposals/{pid}/award/", body, format="json").status_code == 400  # checks first
    for kind in ("feasibility", "safety"):
        off.post(f"/api/v1/proposals/{pid}/checks/", {"kind": kind, "passed": True}, format="json")
    r = committed(off.post, f"/api/v1/proposals/{pid}/award/", body, format="json")
    assert r.status_code == 200 and r.json()["status"] == "awarded"
    # The rapid pool has 3; 2 are taken; a second rapid proposal asking 2 gets at most 1.
    other = draft(world, call, world.outsider, title="Another rapid", track="rapid", shifts=2)
    world.client(world.outsider).post(f"/api/v1/proposals/{other}/submit/")
    for kind in ("feasibility", "safety"):
        off.post(f"/api/v1/proposals/{other}/checks/", {"kind": kind, "passed": True}, format="json")
    assert off.post(f"/api/v1/proposals/{other}/award/", body, format="json").status_code == 400
    one = {"awards": [{"instrument": world.instrument.pk, "shifts": 1}]}
    assert off.post(f"/api/v1/proposals/{other}/award/", one, format="json").status_code == 200


def test_late_cancellation_forfeits_unless_a_substitute_takes_it(world, setup, committed, settings):
    call, off_user = setup["call"], setup["office"]
    off = world.client(off_user)
    ids = []
    for user, title in ((world.researcher, "A"), (world.outsider, "B")):
        pid = draft(world, call, user, title=title, shifts=3, track="rapid")
        world.client(user).post(f"/api/v1/proposals/{pid}/submit/")
        for kind in ("feasibility", "safety"):
            off.post(f"/api/v1/proposals/{pid}/checks/", {"kind": kind, "passed": True}, format="json")
        ids.append(pid)
    off.post(
        f"/api/v1/proposals/{ids[0]}/award/",
        {"awards": [{"instrument": world.instrument.pk, "shifts": 2}]},
        format="json",
    )
    off.post(
        f"/api/v1/proposals/{ids[1]}/award/",
        {"awards": [{"instrument": world.instrument.pk, "shifts": 1}]},
        format="json",
    )
    req_a = Proposal.objects.get(pk=ids[0]).requests.get()
    req_b = Proposal.objects.get(pk=ids[1]).requests.get()
    start = timezone.localtime().replace(hour=8, minute=0, second=0, microsecond=0) + dt.timedelta(days=25)
    settings.PROPOSALS_LATE_CANCEL_DAYS = 30  # every cancellation here is late
    s_a = off.post(
        f"/api/v1/proposals/{ids[0]}/sessions/",
        {"request": req_a.pk, "start": start.isoformat(), "shifts": 1},
        format="json",
    ).json()
    s_a2 = off.post(
        f"/api/v1/proposals/{ids[0]}/sessions/",
        {"request": req_a.pk, "start": (start + dt.timedelta(days=2)).isoformat(), "shifts": 1},
        format="json",
    ).json()
    team = world.client(world.researcher)
    # Late, no substitute: forfeited.
    assert team.post(f"/api/v1/sessions/{s_a['id']}/cancel/", {}, format="json").json()["forfeited"] is True
    # A substitute named by the office takes the second session's time: nothing forfeited.
    r = off.post(f"/api/v1/sessions/{s_a2['id']}/cancel/", {"substitute": req_b.pk}, format="json")
    assert r.status_code == 200 and r.json()["forfeited"] is False
    assert BeamSession.objects.filter(request=req_b, booking__start=start + dt.timedelta(days=2)).exists()
    # The researcher may not name a substitute.
    from proposals.selectors import ledgers_for

    row = ledgers_for(Proposal.objects.get(pk=ids[0]).requests.all())[0]
    assert (row.forfeited, row.to_schedule) == (1, 1)


def test_machine_fault_returns_time(world, setup, committed):
    call, off = setup["call"], world.client(setup["office"])
    pid = draft(world, call, track="rapid", shifts=2)
    world.client(world.researcher).post(f"/api/v1/proposals/{pid}/submit/")
    for kind in ("feasibility", "safety"):
        off.post(f"/api/v1/proposals/{pid}/checks/", {"kind": kind, "passed": True}, format="json")
    off.post(
        f"/api/v1/proposals/{pid}/award/", {"awards": [{"instrument": world.instrument.pk, "shifts": 2}]}, format="json"
    )
    req = Proposal.objects.get(pk=pid).requests.get()
    start = timezone.localtime().replace(hour=8, minute=0, second=0, microsecond=0) + dt.timedelta(days=30)
    s = off.post(
        f"/api/v1/proposals/{pid}/sessions/",
        {"request": req.pk, "start": start.isoformat(), "shifts": 2},
        format="json",
    ).json()
    world.client(world.researcher).post(f"/api/v1/sessions/{s['id']}/confirm/")
    assert (
        world.client(world.researcher)
        .post(f"/api/v1/sessions/{s['id']}/fault/", {"lost_shifts": 2}, format="json")
        .status_code
        == 403
    )
    r = off.post(f"/api/v1/sessions/{s['id']}/fault/", {"lost_shifts": 2}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "fault" and r.json()["booking_status"] == "cancelled"
    from proposals.selectors import ledgers_for, pools

    row = ledgers_for(Proposal.objects.get(pk=pid).requests.all())[0]
    assert (row.lost, row.scheduled, row.to_schedule) == (2, 0, 0)
    assert pools(call)[world.instrument.pk].returned == 2
    # The freed slot is free for an hourly booking again.
    BookingFactory(
        instrument=world.instrument,
        requester=world.outsider,
        institution=world.zju,
        start=start,
        end=start + dt.timedelta(hours=1),
    )
    assert Decimal(1) == 1


def test_call_figures_and_their_xlsx(world, setup, committed):
    import io

    from openpyxl import load_workbook

    from facilities.models import TimeShare

    call, off = setup["call"], world.client(setup["office"])
    TimeShare.objects.create(instrument=world.instrument, institution=world.zju, percent=Decimal("25"))
    pid = draft(world, call, shifts=4, track="rapid")
    world.client(world.researcher).post(f"/api/v1/proposals/{pid}/submit/")
    for kind in ("feasibility", "safety"):
        off.post(f"/api/v1/proposals/{pid}/checks/", {"kind": kind, "passed": True}, format="json")
    off.post(
        f"/api/v1/proposals/{pid}/award/", {"awards": [{"instrument": world.instrument.pk, "shifts": 3}]}, format="json"
    )
    regular = draft(world, call, world.outsider, title="Regular", shifts=5)
    world.client(world.outsider).post(f"/api/v1/proposals/{regular}/submit/")
    # The partner (ZJU) booked 24 of the cycle's 96 offered hours: 25 %, its share, met.
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=30)
    BookingFactory(
        instrument=world.instrument,
        requester=world.outsider,
        institution=world.zju,
        start=start,
        end=start + dt.timedelta(hours=24),
    )
    r = off.get(f"/api/v1/reports/calls/{call.pk}/")
    assert r.status_code == 200, r.json()
    figures = r.json()
    # 12 shifts: 3 for partners (25 %), 3 for rapid access, 6 for the panel; 5 requested by regular proposals.
    assert figures["instruments"] == [
        {
            "instrument": "BL1",
            "panel": "",
            "shifts_available": 12,
            "panel_shifts": 6,
            "requested": 5,
            "oversubscription": "0.83",
            "cutoff_grade": None,
        }
    ]
    assert figures["awarded_by_institution"] == [{"institution": "USTC", "shifts_awarded": 3}]
    assert figures["awarded_by_province"] == [{"province": "anhui", "shifts_awarded": 3}]
    assert figures["partner_shares"] == [
        {
            "instrument": "BL1",
            "partner": "ZJU",
            "share_percent": "25.00",
            "hours": "24.00",
            "used_hours": "0.00",
            "actual_percent": "25.00",
            "met": True,
        }
    ]
    x = off.get(f"/api/v1/reports/calls/{call.pk}/?format=xlsx")
    book = load_workbook(io.BytesIO(b"".join(x.streaming_content) if x.streaming else x.content))
    assert book.sheetnames == ["Instruments 仪器", "Institutions 单位", "Provinces 省市", "Partner shares 共建份额"]
    assert [c.value for c in book["Institutions 单位"][2]] == ["USTC", 3]
    for user, code in (
        (world.researcher, 403),
        (world.outsider, 403),
        (setup["rev_a"], 403),
        (world.manager, 200),
        (None, 401),
    ):
        assert world.client(user).get(f"/api/v1/reports/calls/{call.pk}/").status_code == code


def test_the_ranking_is_per_panel(world, setup):
    call, off = setup["call"], world.client(setup["office"])
    ids = []
    for user, title, panel in ((world.researcher, "Energy one", "energy"), (world.outsider, "Bio one", "life")):
        pid = draft(world, call, user, title=title, shifts=2)
        world.client(user).post(f"/api/v1/proposals/{pid}/submit/")
        r = off.post(f"/api/v1/proposals/{pid}/panel/", {"panel": panel}, format="json")
        assert r.status_code == 200 and r.json()["panel"] == panel
        ids.append(pid)
    assert (
        world.client(world.researcher)
        .post(f"/api/v1/proposals/{ids[0]}/panel/", {"panel": "x"}, format="json")
        .status_code
        == 403
    )
    rows = off.get(f"/api/v1/calls/{call.pk}/ranking/").json()["instruments"]
    assert [(r["panel"], [p["proposal"] for p in r["proposals"]]) for r in rows] == [
        ("energy", [ids[0]]),
        ("life", [ids[1]]),
    ]
