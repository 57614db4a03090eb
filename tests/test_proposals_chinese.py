"""Chinese all the way, for proposals too: refusals of the proposals API come back in the language the client
asks for (400 fields, the 409 body, 403 and 404), with no English word left but codes and names."""

import datetime as dt
import re

import pytest
from django.utils import timezone, translation

from proposals.models import ReviewAssignment

from .factories.proposals import reviewer
from .test_proposals_access import submitted  # noqa: F401 - fixture

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture(autouse=True)
def back_to_english():
    yield
    translation.activate("en")


def words(message: str, *names: str) -> list[str]:
    for name in names:
        message = message.replace(name, "")
    return re.findall(r"[A-Za-z]{2,}", re.sub(r"\bP\d+\b|#\d+|YYYY-MM-DD", "", message))


def text(r) -> str:
    """The first message of an answer, however deep the field that carries it."""
    value = r.json()
    while not isinstance(value, str):
        value = value.get("detail") or next(iter(value.values())) if isinstance(value, dict) else value[0]
    return value


def test_proposal_refusals_speak_chinese(world, submitted):  # noqa: F811
    pid, call = submitted["pid"], submitted["call"]
    team, office = world.client(world.researcher), world.client(submitted["office"])
    cases = []
    # 400: a field.
    body = {"call": call.pk, "title": "x", "preferred_dates": ["soon"], "requests": []}
    cases.append((team.post("/api/v1/proposals/", body, format="json", **ZH), 400, "日期"))
    # 409: the state.
    cases.append((team.post(f"/api/v1/proposals/{pid}/submit/", **ZH), 409, "无法提交"))
    # 409: a conflict of interest.
    reviewer("rev_ustc", "USTC")
    r = office.post(f"/api/v1/proposals/{pid}/reviewers/", {"reviewer": "rev_ustc"}, format="json", **ZH)
    cases.append((r, 409, "不能评审"))
    # 400: a grade off the call's scale.
    rev = reviewer("rev1", "SJTU")
    review = ReviewAssignment.objects.create(proposal_id=pid, reviewer=rev, assigned_by=submitted["office"])
    r = world.client(rev).post(
        f"/api/v1/reviews/{review.pk}/grade/", {"grade": "9", "comment": "ok"}, format="json", **ZH
    )
    cases.append((r, 400, "评分须在"))
    # 403: not the office.
    cases.append((team.post(f"/api/v1/proposals/{pid}/award/", {"awards": []}, format="json", **ZH), 403, "用户办公室"))
    # 404: not to be seen.
    cases.append((world.client(world.outsider).get(f"/api/v1/proposals/{pid}/", **ZH), 404, "无权查看"))
    # 400: awarding before the checks.
    r = office.post(
        f"/api/v1/proposals/{pid}/award/",
        {"awards": [{"instrument": world.instrument.pk, "shifts": 1}]},
        format="json",
        **ZH,
    )
    cases.append((r, 400, "可行性"))
    for response, status, chinese in cases:
        message = text(response)
        assert response.status_code == status, (status, response.json())
        assert chinese in message, message
        assert words(message, "rev_ustc", world.instrument.code, world.facility.code) == [], message


def test_session_refusals_speak_chinese(world, submitted):  # noqa: F811
    pid, off = submitted["pid"], world.client(submitted["office"])
    for kind in ("feasibility", "safety"):
        off.post(f"/api/v1/proposals/{pid}/checks/", {"kind": kind, "passed": True}, format="json")
    rev = reviewer("rev1", "SJTU")
    ReviewAssignment.objects.create(proposal_id=pid, reviewer=rev, assigned_by=submitted["office"], grade="4.0")
    off.post(
        f"/api/v1/proposals/{pid}/award/", {"awards": [{"instrument": world.instrument.pk, "shifts": 2}]}, format="json"
    )
    req = off.get(f"/api/v1/proposals/{pid}/").json()["requests"][0]["id"]
    past = timezone.now() - dt.timedelta(days=1)
    r = off.post(
        f"/api/v1/proposals/{pid}/sessions/",
        {"request": req, "start": past.isoformat(), "shifts": 1},
        format="json",
        **ZH,
    )
    assert r.status_code == 400 and "将来" in text(r) and words(text(r)) == [], r.json()
    start = timezone.make_aware(dt.datetime.combine(submitted["call"].cycle_start + dt.timedelta(days=3), dt.time(8)))
    sid = off.post(
        f"/api/v1/proposals/{pid}/sessions/", {"request": req, "start": start.isoformat(), "shifts": 1}, format="json"
    ).json()["id"]
    r = off.post(f"/api/v1/sessions/{sid}/safety-form/approve/", **ZH)
    assert r.status_code == 409 and "安全表" in text(r) and words(text(r)) == [], r.json()
    assert world.client(world.researcher).post(f"/api/v1/sessions/{sid}/cancel/").status_code == 200
    r = world.client(world.researcher).post(f"/api/v1/sessions/{sid}/confirm/", **ZH)
    assert r.status_code == 409 and "无法确认" in text(r) and words(text(r)) == [], r.json()
    # Without the header, the same refusal stays English.
    r = world.client(world.researcher).post(f"/api/v1/sessions/{sid}/confirm/")
    assert "cannot be confirmed" in text(r)
