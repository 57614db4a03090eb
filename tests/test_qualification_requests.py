"""Qualification requests: ask, grant (optionally until a day) or decline; lapsing qualifications and
the reminder before they lapse; who may do what."""

import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from booking.services import booking_request
from facilities import services
from facilities.models import Qualification, QualificationRequest
from facilities.selectors import is_qualified
from facilities.tasks import remind_lapsing_qualifications

H = dt.timedelta(hours=1)
LIST = "/api/v1/qualification-requests/"


@pytest.fixture
def gated(world):
    world.instrument.requires_qualification = True
    world.instrument.save()
    world.manager.email = "mgr@example.org"
    world.manager.save()
    world.researcher.email = "res@example.org"
    world.researcher.save()
    return world.instrument


def ask(world, user=None, **body):
    return world.client(user or world.researcher).post(LIST, {"instrument": world.instrument.pk, **body}, format="json")


def test_request_grant_then_book(world, gated, tomorrow_9, django_capture_on_commit_callbacks):
    with pytest.raises(ValidationError):
        booking_request(requester=world.researcher, instrument=gated, start=tomorrow_9, end=tomorrow_9 + H)
    state = world.client(world.researcher).get(f"/api/v1/instruments/{gated.pk}/qualification/").json()
    assert state == {
        "instrument": gated.pk,
        "requires_qualification": True,
        "qualified": False,
        "expires_at": None,
        "pending_request": None,
    }
    with django_capture_on_commit_callbacks(execute=True):
        resp = ask(world, note="Trained at the 2026 user school")
    assert resp.status_code == 201, resp.content
    made = resp.json()
    assert made["status"] == "pending" and made["username"] == "res" and made["facility"] == "FAC"
    assert [m.to for m in mail.outbox] == [["mgr@example.org"]] and "res" in mail.outbox[0].subject
    # Asking again returns the waiting request, and makes no second one.
    again = ask(world)
    assert again.status_code == 200 and again.json()["id"] == made["id"]
    assert QualificationRequest.objects.count() == 1
    state = world.client(world.researcher).get(f"/api/v1/instruments/{gated.pk}/qualification/").json()
    assert state["pending_request"] == made["id"]

    last_day = timezone.localdate() + dt.timedelta(days=60)
    with django_capture_on_commit_callbacks(execute=True):
        resp = world.client(world.manager).post(
            f"{LIST}{made['id']}/grant/", {"expires_on": last_day.isoformat()}, format="json"
        )
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["status"] == "granted" and body["decided_by"] == "mgr"
    assert body["expires_at"].startswith((last_day + dt.timedelta(days=1)).isoformat() + "T00:00:00")
    assert mail.outbox[-1].to == ["res@example.org"] and last_day.isoformat() in mail.outbox[-1].body
    booking_request(requester=world.researcher, instrument=gated, start=tomorrow_9, end=tomorrow_9 + H)
    # A second decision is a conflict.
    again = world.client(world.manager).post(f"{LIST}{made['id']}/decline/", {"reason": "no"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    # Already qualified: asking again is a conflict too.
    resp = ask(world)
    assert resp.status_code == 409 and resp.json()["code"] == "already_qualified"
    # Audited: the request and the qualification.
    assert LogEntry.objects.get_for_model(QualificationRequest).count() >= 2
    assert LogEntry.objects.get_for_model(Qualification).exists()


def test_decline_needs_a_reason_and_tells_the_person(world, gated, django_capture_on_commit_callbacks):
    made = ask(world).json()
    url = f"{LIST}{made['id']}/decline/"
    assert world.client(world.manager).post(url, {"reason": "  "}, format="json").status_code == 400
    assert world.client(world.manager).post(url, {}, format="json").status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        resp = world.client(world.manager).post(url, {"reason": "Take the safety course first."}, format="json")
    assert resp.status_code == 200 and resp.json()["status"] == "declined"
    assert "Take the safety course first." in mail.outbox[-1].body
    assert not is_qualified(user=world.researcher, instrument=gated)
    # Once declined, one may ask again.
    assert ask(world).status_code == 201


def test_who_may_do_what(world, gated):
    made = ask(world).json()
    for user in (world.researcher, world.outsider, world.finance):
        for action, body in (("grant", {}), ("decline", {"reason": "x"})):
            resp = world.client(user).post(f"{LIST}{made['id']}/{action}/", body, format="json")
            assert resp.status_code == 403, (user.username, action)
    for action in ("grant", "decline"):
        assert world.client(None).post(f"{LIST}{made['id']}/{action}/", {}, format="json").status_code in (401, 403)
        assert (
            world.client(world.manager).post(f"{LIST}999999/{action}/", {"reason": "x"}, format="json").status_code
            == 404
        )
    assert world.client(None).get(LIST).status_code in (401, 403)
    assert world.client(None).post(LIST, {"instrument": gated.pk}, format="json").status_code in (401, 403)
    # Lists are scoped: the requester and the manager see it; an outsider and finance do not.
    assert [r["id"] for r in world.client(world.researcher).get(LIST).json()["results"]] == [made["id"]]
    assert [r["id"] for r in world.client(world.manager).get(LIST).json()["results"]] == [made["id"]]
    assert world.client(world.outsider).get(LIST).json()["count"] == 0
    assert world.client(world.finance).get(LIST).json()["count"] == 0
    assert world.client(world.admin).get(LIST, {"status": "pending"}).json()["count"] == 1
    # A platform administrator may decide.
    resp = world.client(world.admin).post(f"{LIST}{made['id']}/grant/", {"expires_on": None}, format="json")
    assert resp.status_code == 200 and resp.json()["expires_at"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"instrument": "1"},
        {"instrument": True},
        {"instrument": 0},
        {"instrument": 1, "note": 5},
        {"instrument": 1, "note": "x" * 1001},
        {},
    ],
)
def test_bad_requests_are_400(world, gated, body):
    assert world.client(world.researcher).post(LIST, body, format="json").status_code == 400


def test_bad_input_and_states(world, gated):
    assert world.client(world.researcher).get(LIST, {"status": "maybe"}).status_code == 400
    assert world.client(world.researcher).get(LIST, {"instrument": "x"}).status_code == 400
    assert world.client(world.researcher).post(LIST, {"instrument": 999999}, format="json").status_code == 404
    made = ask(world).json()
    for expires_on in ("yesterday", (timezone.localdate() - dt.timedelta(days=1)).isoformat(), "2999-01-01"):
        resp = world.client(world.manager).post(f"{LIST}{made['id']}/grant/", {"expires_on": expires_on}, format="json")
        assert resp.status_code == 400, expires_on
    gated.requires_qualification = False
    gated.save()
    resp = ask(world, user=world.outsider)
    assert resp.status_code == 400 and "does not ask for a qualification" in resp.content.decode()


def test_refusals_in_chinese(world, gated):
    made = ask(world).json()
    client = world.client(world.manager)
    client.post(f"{LIST}{made['id']}/grant/", {}, format="json")
    zh = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    resp = client.post(f"{LIST}{made['id']}/decline/", {"reason": "x"}, format="json", **zh)
    assert resp.status_code == 409 and "已处理" in resp.json()["detail"]
    resp = world.client(world.researcher).post(LIST, {"instrument": gated.pk}, format="json", **zh)
    assert resp.status_code == 409 and "已具备" in resp.json()["detail"]


def test_a_lapsed_qualification_no_longer_lets_one_book(world, gated, tomorrow_9):
    services.qualification_grant(
        actor=world.manager, user=world.researcher, instrument=gated, expires_on=timezone.localdate()
    )
    assert is_qualified(user=world.researcher, instrument=gated)
    later = timezone.now() + dt.timedelta(days=2)
    assert not is_qualified(user=world.researcher, instrument=gated, now=later)
    # Lapsed (its midnight passed): granting again closes the old one and opens a new one.
    Qualification.objects.update(expires_at=timezone.now() - H)
    with pytest.raises(ValidationError):
        booking_request(requester=world.researcher, instrument=gated, start=tomorrow_9, end=tomorrow_9 + H)
    services.qualification_grant(actor=world.manager, user=world.researcher, instrument=gated)
    assert Qualification.objects.filter(revoked_at__isnull=True, expires_at__isnull=True).count() == 1
    assert Qualification.objects.filter(revoked_at__isnull=False).count() == 1
    booking_request(requester=world.researcher, instrument=gated, start=tomorrow_9, end=tomorrow_9 + H)


def test_reminder_before_lapsing_once_per_expiry(world, gated, django_capture_on_commit_callbacks, settings):
    settings.QUALIFICATION_REMINDER_DAYS = 14
    last_day = timezone.localdate() + dt.timedelta(days=20)
    q = services.qualification_grant(actor=world.manager, user=world.researcher, instrument=gated, expires_on=last_day)
    assert remind_lapsing_qualifications() == 0  # not yet: 20 days out
    in_ten_days = (timezone.now() + dt.timedelta(days=10)).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        assert remind_lapsing_qualifications(now=in_ten_days) == 1
    assert mail.outbox[-1].to == ["res@example.org"] and last_day.isoformat() in mail.outbox[-1].subject
    sent = len(mail.outbox)
    # Idempotent: running again (or a later run) mails nobody twice.
    with django_capture_on_commit_callbacks(execute=True):
        assert remind_lapsing_qualifications(now=in_ten_days) == 0
        assert remind_lapsing_qualifications(now=(timezone.now() + dt.timedelta(days=12)).isoformat()) == 0
    assert len(mail.outbox) == sent
    # A renewal (a new expiry, through a granted request) earns a new reminder in due time.
    made = ask(world)
    assert made.status_code == 409  # still qualified
    new_last = last_day + dt.timedelta(days=30)
    services.qualification_grant(
        actor=world.manager, user=world.researcher, instrument=gated, expires_on=new_last, keep_expiry=False
    )
    q.refresh_from_db()
    assert timezone.localtime(q.expires_at).date() == new_last + dt.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert remind_lapsing_qualifications(now=(timezone.now() + dt.timedelta(days=40)).isoformat()) == 1
    # Limited to ids, and refusing a naive time.
    assert remind_lapsing_qualifications(qualification_ids=[q.pk + 1000]) == 0
    with pytest.raises(ValueError):
        remind_lapsing_qualifications(now="2026-12-01T00:00:00")


def test_reminder_is_in_the_beat_schedule(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "facilities.tasks.remind_lapsing_qualifications" in tasks


def test_personal_data_export_and_anonymisation(world, gated):
    ask(world, note="Trained by Dr Wang in May")
    data = world.client(world.researcher).get("/api/v1/me/data/").json()
    assert data["qualification_requests"][0]["note"] == "Trained by Dr Wang in May"
    services.person_anonymise(actor=world.admin, user_id=world.researcher.pk)
    request = QualificationRequest.objects.get()
    assert request.note == "" and request.status == "pending"
