"""Check-in by QR code, walk-up use, use recorded and corrected by hand, and who may touch what."""

import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking.models import Booking
from common.errors import Conflict
from usage.models import UsageSession, UsageSettings
from usage.services import checkin_start, checkin_stop, session_correct, session_record, session_validate

from .factories.booking import BookingFactory

M = dt.timedelta(minutes=1)


def booking_at(world, start, minutes=60, requester=None, status=Booking.Status.APPROVED):
    requester = requester or world.researcher
    return BookingFactory(
        instrument=world.instrument,
        requester=requester,
        institution=world.ustc if requester == world.researcher else world.zju,
        start=start,
        end=start + minutes * M,
        status=status,
    )


def test_check_in_is_allowed_from_the_set_minutes_before_the_booking(world):
    now = timezone.now().replace(microsecond=0)
    UsageSettings.objects.create(instrument=world.instrument, checkin_early_minutes=10)
    mine = booking_at(world, now + 15 * M)
    booking_at(world, now - 60 * M, 60, requester=world.outsider)  # someone else's, just ended
    early = checkin_start(user=world.researcher, instrument=world.instrument, now=now)
    assert early.booking_id is None  # 15 minutes before: not yet the booking's use, a walk-up in free time
    checkin_stop(user=world.researcher, instrument=world.instrument, now=now + M)
    s = checkin_start(user=world.researcher, instrument=world.instrument, now=now + 6 * M)
    assert (s.booking_id, s.source, s.user_id) == (mine.pk, "qr", world.researcher.pk)
    assert checkin_start(user=world.researcher, instrument=world.instrument, now=now + 7 * M).pk == s.pk  # twice
    stopped = checkin_stop(user=world.researcher, instrument=world.instrument, now=now + 50 * M)
    assert (stopped.end - stopped.start, stopped.ended_by) == (44 * M, "stop")
    with pytest.raises(Conflict) as nothing:
        checkin_stop(user=world.researcher, instrument=world.instrument, now=now + 51 * M)
    assert nothing.value.code == "not_in_use"


def test_a_booking_may_have_several_sessions(world):
    now = timezone.now().replace(microsecond=0)
    b = booking_at(world, now - 30 * M, 120)
    for k in range(3):
        checkin_start(user=world.researcher, instrument=world.instrument, now=now + 10 * k * M)
        checkin_stop(user=world.researcher, instrument=world.instrument, now=now + (10 * k + 5) * M)
    assert UsageSession.objects.filter(booking=b).count() == 3


def test_walk_up_is_recorded_without_a_booking_and_refused_when_someone_else_holds_the_slot(world):
    now = timezone.now().replace(microsecond=0)
    walk = checkin_start(user=world.researcher, instrument=world.instrument, now=now)
    assert walk.booking_id is None
    with pytest.raises(Conflict) as busy:
        checkin_start(user=world.outsider, instrument=world.instrument, now=now + M)
    assert busy.value.code == "in_use"
    checkin_stop(user=world.researcher, instrument=world.instrument, now=now + 2 * M)
    booking_at(world, now - 10 * M, 60, requester=world.outsider)
    with pytest.raises(Conflict) as held:
        checkin_start(user=world.researcher, instrument=world.instrument, now=now + 3 * M)
    assert held.value.code == "slot_held"
    assert UsageSession.objects.count() == 1


def test_start_and_stop_raise_the_availability_version(world):
    before = world.instrument.availability_version
    checkin_start(user=world.researcher, instrument=world.instrument)
    checkin_stop(user=world.researcher, instrument=world.instrument)
    world.instrument.refresh_from_db()
    assert world.instrument.availability_version == before + 2


def test_manager_records_and_corrects_use_with_a_reason_and_it_is_audited(world):
    now = timezone.now().replace(microsecond=0)
    b = booking_at(world, now - 120 * M, 60)
    with pytest.raises(ValidationError):
        session_record(
            actor=world.manager, instrument=world.instrument, user=world.researcher, start=b.start, end=b.end, reason=""
        )
    with pytest.raises(PermissionDenied):
        session_record(
            actor=world.researcher,
            instrument=world.instrument,
            user=world.researcher,
            start=b.start,
            end=b.end,
            reason="mine",
        )
    s = session_record(
        actor=world.manager,
        instrument=world.instrument,
        user=world.researcher,
        start=b.start,
        end=b.end,
        booking_id=b.pk,
        reason="check-in forgotten",
        now=now,
    )
    assert (s.source, s.validated_by_id, s.booking_id) == ("manual", world.manager.pk, b.pk)
    fixed = session_correct(
        actor=world.manager, session_id=s.pk, end=b.start + 40 * M, reason="left early, says the log", now=now
    )
    assert fixed.end - fixed.start == 40 * M and fixed.corrected_at == now and fixed.reason.startswith("left")
    entries = LogEntry.objects.get_for_object(fixed)
    assert entries.count() == 2 and "end" in entries.first().changes_dict
    with pytest.raises(ValidationError):
        session_correct(actor=world.manager, session_id=s.pk, end=b.start - M, reason="typo")
    with pytest.raises(ValidationError):
        session_record(
            actor=world.manager,
            instrument=world.instrument,
            user=world.outsider,
            start=b.start,
            end=b.end,
            booking_id=b.pk,
            reason="wrong person",
        )


def test_validation_by_the_manager_only(world):
    now = timezone.now().replace(microsecond=0)
    s = checkin_start(user=world.researcher, instrument=world.instrument, now=now - 10 * M)
    with pytest.raises(Conflict):
        session_validate(actor=world.manager, session_id=s.pk)
    checkin_stop(user=world.researcher, instrument=world.instrument, now=now)
    with pytest.raises(PermissionDenied):
        session_validate(actor=world.researcher, session_id=s.pk)
    from django.http import Http404

    with pytest.raises(Http404):
        session_validate(actor=world.outsider, session_id=s.pk)
    assert session_validate(actor=world.manager, session_id=s.pk, now=now).validated_by_id == world.manager.pk


# --- the API -----------------------------------------------------------------------------------------


def test_api_sessions_are_scoped(world):
    now = timezone.now().replace(microsecond=0)
    checkin_start(user=world.researcher, instrument=world.instrument, now=now - 5 * M)
    assert world.client(world.researcher).get("/api/v1/usage/sessions/").json()["count"] == 1
    assert world.client(world.manager).get("/api/v1/usage/sessions/").json()["count"] == 1
    assert world.client(world.admin).get("/api/v1/usage/sessions/").json()["count"] == 1
    for who in (world.outsider, world.finance):
        assert world.client(who).get("/api/v1/usage/sessions/").json()["count"] == 0
    assert world.client(None).get("/api/v1/usage/sessions/").status_code in (401, 403)
    sid = UsageSession.objects.get().pk
    assert world.client(world.outsider).get(f"/api/v1/usage/sessions/{sid}/").status_code == 404


def test_api_check_in_and_status(world):
    c = world.client(world.researcher)
    base = f"/api/v1/instruments/{world.instrument.pk}/usage/"
    assert world.client(None).get(base).json()["in_use"] is False
    assert world.client(None).post(base + "start/").status_code in (401, 403)
    started = c.post(base + "start/")
    assert started.status_code == 201 and started.json()["source"] == "qr"
    status = world.client(None).get(base).json()
    assert status["in_use"] is True and "user" not in status
    refused = world.client(world.outsider).post(base + "start/")
    assert refused.status_code == 409 and refused.json()["code"] == "in_use"
    assert world.client(world.outsider).post(base + "stop/").json()["code"] == "not_in_use"
    assert c.post(base + "stop/").status_code == 200
    assert world.client(None).get(base).json()["in_use"] is False
    assert world.client(None).get("/api/v1/instruments/999999/usage/").status_code == 404


def test_api_manual_record_correct_validate_and_refusals(world):
    now = timezone.now().replace(microsecond=0)
    start, end = (now - 60 * M).isoformat(), (now - 30 * M).isoformat()
    body = {"instrument": world.instrument.pk, "username": "res", "start": start, "end": end, "reason": "paper log"}
    for who in (world.researcher, world.outsider, world.finance):
        assert world.client(who).post("/api/v1/usage/sessions/", body, format="json").status_code == 403
    created = world.client(world.manager).post("/api/v1/usage/sessions/", body, format="json")
    assert created.status_code == 201, created.content
    sid = created.json()["id"]
    for bad in (
        {**body, "start": "yesterday"},
        {**body, "reason": ""},
        {**body, "username": "nobody"},
        {**body, "instrument": "1"},
        {**body, "end": start},
        {**body, "booking": 999999},
    ):
        assert world.client(world.manager).post("/api/v1/usage/sessions/", bad, format="json").status_code == 400
    patch = {"end": (now - 20 * M).isoformat(), "reason": "the log said 20"}
    assert (
        world.client(world.researcher).patch(f"/api/v1/usage/sessions/{sid}/", patch, format="json").status_code == 403
    )
    assert world.client(world.outsider).patch(f"/api/v1/usage/sessions/{sid}/", patch, format="json").status_code == 404
    fixed = world.client(world.manager).patch(f"/api/v1/usage/sessions/{sid}/", patch, format="json")
    assert fixed.status_code == 200 and fixed.json()["corrected"] is True
    assert world.client(world.researcher).post(f"/api/v1/usage/sessions/{sid}/validate/").status_code == 403
    assert world.client(world.manager).post(f"/api/v1/usage/sessions/{sid}/validate/").json()["validated_by"] == "mgr"


def test_api_usage_settings_for_managers_only(world):
    url = f"/api/v1/instruments/{world.instrument.pk}/usage/settings/"
    for who in (world.researcher, world.outsider, world.finance):
        assert world.client(who).get(url).status_code == 403
        assert world.client(who).patch(url, {"no_show_after_minutes": 5}, format="json").status_code == 403
    assert world.client(None).get(url).status_code in (401, 403)
    c = world.client(world.manager)
    assert c.get(url).json()["no_show_after_minutes"] is None
    assert c.patch(url, {"no_show_after_minutes": 20}, format="json").json()["no_show_after_minutes"] == 20
    for bad in ({"no_show_after_minutes": "20"}, {"heartbeat_timeout_minutes": 0}, {"agent_key_encrypted": "x"}):
        assert c.patch(url, bad, format="json").status_code == 400
    assert UsageSettings.objects.get(instrument=world.instrument).no_show_after_minutes == 20


def test_openapi_lists_the_usage_endpoints(world):
    schema = world.client(None).get("/api/v1/schema/?format=json").json()
    for path in (
        "/api/v1/usage/sessions/",
        "/api/v1/usage/sessions/{id}/",
        "/api/v1/usage/sessions/{id}/validate/",
        "/api/v1/instruments/{id}/usage/",
        "/api/v1/instruments/{id}/usage/start/",
        "/api/v1/instruments/{id}/usage/stop/",
        "/api/v1/instruments/{id}/usage/settings/",
        "/api/v1/instruments/{id}/usage/agent-key/",
        "/api/v1/instruments/{id}/usage/agent-events/",
        "/api/v1/usage/violations/",
        "/api/v1/usage/suspensions/",
        "/api/v1/usage/suspensions/{id}/appeal/",
        "/api/v1/usage/suspensions/{id}/decide/",
        "/api/v1/facilities/{code}/violation-policy/",
    ):
        assert path in schema["paths"], path


# --- the pages ---------------------------------------------------------------------------------------


def test_qr_page_for_managers_only_and_the_check_in_page(world):
    qr = reverse("frontend:qr", args=[world.instrument.pk])
    assert Client().get(qr).status_code == 302
    for who in (world.researcher, world.outsider):
        c = Client()
        c.force_login(who)
        assert c.get(qr).status_code == 403
    m = Client()
    m.force_login(world.manager)
    page = m.get(qr)
    assert (
        page.status_code == 200 and b"<svg" in page.content and f"/use/{world.instrument.pk}/".encode() in page.content
    )

    use = reverse("frontend:use", args=[world.instrument.pk])
    assert Client().get(use).status_code == 302
    r = Client()
    r.force_login(world.researcher)
    assert b"Start use" in r.get(use).content
    r.post(reverse("frontend:use_action", args=[world.instrument.pk, "start"]))
    assert b"Stop use" in r.get(use).content
    o = Client()
    o.force_login(world.outsider)
    o.post(reverse("frontend:use_action", args=[world.instrument.pk, "start"]))
    assert "Someone else is using this instrument now." in o.get(use).content.decode()
    badge = Client().get(reverse("frontend:usage_badge", args=[world.instrument.pk])).content.decode()
    assert 'data-in-use="yes"' in badge and world.researcher.username + "<" not in badge
    r.post(reverse("frontend:use_action", args=[world.instrument.pk, "stop"]))
    assert (
        'data-in-use="no"' in Client().get(reverse("frontend:usage_badge", args=[world.instrument.pk])).content.decode()
    )
    assert r.get(reverse("frontend:use", args=[999999])).status_code == 404
    assert r.post(reverse("frontend:use_action", args=[world.instrument.pk, "explode"])).status_code == 302


def test_a_forgotten_check_in_gives_way_to_the_next_booked_user(world):
    now = timezone.now().replace(microsecond=0)
    forgotten = checkin_start(user=world.outsider, instrument=world.instrument, now=now - 90 * M)  # walk-up
    booking_at(world, now - 5 * M, 60)
    with pytest.raises(Conflict):  # the booking has not begun for someone without one
        checkin_start(user=world.finance, instrument=world.instrument, now=now)
    mine = checkin_start(user=world.researcher, instrument=world.instrument, now=now)
    forgotten.refresh_from_db()
    assert (forgotten.end, forgotten.ended_by) == (now, "next_user") and mine.booking_id is not None
    # But nobody takes over use that is inside its own booking.
    with pytest.raises(Conflict) as busy:
        checkin_start(user=world.outsider, instrument=world.instrument, now=now + M)
    assert busy.value.code == "in_use"
