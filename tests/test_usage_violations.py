"""Violations and consequences: no-shows, late cancellations and short use are counted per user; a
facility's policy suspends booking there, with a notice; the user appeals, a manager decides; the
suspension is refused in the order of checks right after qualification; all audited."""

import datetime as dt
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from booking.services import booking_cancel, booking_complete, booking_no_show, booking_request
from common.errors import Conflict
from usage.models import Source, Suspension, UsageSession, Violation, ViolationPolicy
from usage.services.violations import suspension_appeal, suspension_decide

from .factories.booking import BookingFactory

H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)
pytestmark = pytest.mark.usefixtures("tasks_in_process")


def past_booking(world, days_ago: int, requester=None):
    requester = requester or world.researcher
    start = (timezone.localtime() - dt.timedelta(days=days_ago)).replace(hour=9, minute=0, second=0, microsecond=0)
    return BookingFactory(
        instrument=world.instrument, requester=requester, institution=world.ustc, start=start, end=start + 2 * H
    )


@pytest.fixture
def policy(world):
    world.researcher.email = "res@example.org"
    world.researcher.save()
    return ViolationPolicy.objects.create(facility=world.facility, max_violations=3, window_days=90, suspension_days=30)


def test_violations_are_counted_without_a_policy_and_suspend_nobody(world):
    for days in (3, 2, 1):
        booking_no_show(actor=None, booking_id=past_booking(world, days).pk)
    assert Violation.objects.filter(user=world.researcher, kind="no_show").count() == 3
    assert not Suspension.objects.exists()


def test_three_violations_in_90_days_suspend_booking_with_a_notice(world, policy, tomorrow_9, committed):
    b1 = past_booking(world, 100)  # outside the window: does not count
    committed(booking_no_show, actor=None, booking_id=b1.pk)
    committed(booking_no_show, actor=None, booking_id=past_booking(world, 20).pk)
    short = past_booking(world, 10)
    UsageSession.objects.create(
        instrument=world.instrument,
        user=world.researcher,
        booking=short,
        start=short.start,
        end=short.start + 30 * M,
        last_seen=short.start + 30 * M,
        source=Source.QR,
    )
    committed(booking_complete, actor=None, booking_id=short.pk)  # 30 of 120 minutes: far shorter
    assert set(Violation.objects.values_list("kind", flat=True)) == {"no_show", "short_use"}
    assert not Suspension.objects.exists()
    # A late cancellation by the requester (billing's policy: within 24 h of the start) is the third.
    # Within 24 h of now, whatever the time of day the test runs (tomorrow at 09:00 is more than a day away
    # after 09:00 local time).
    soon = (timezone.localtime() + 2 * H).replace(minute=0, second=0, microsecond=0)
    late = booking_request(requester=world.researcher, instrument=world.instrument, start=soon, end=soon + H)
    committed(booking_cancel, actor=world.researcher, booking_id=late.pk, reason="plans changed")
    assert Violation.objects.filter(kind="late_cancellation").count() == 1
    (s,) = Suspension.objects.all()
    assert (s.user_id, s.facility_id, s.ends_at - s.starts_at) == (world.researcher.pk, world.facility.pk, 30 * 24 * H)
    assert s.violations.count() == 3
    (notice,) = [m for m in mail.outbox if "suspended" in m.subject]
    assert notice.to == ["res@example.org"] and "until" in notice.body and "appeal" in notice.body
    assert LogEntry.objects.get_for_object(s).exists()

    # Refused in the order of checks, right after qualification, through every path that books.
    with pytest.raises(ValidationError) as refused:
        booking_request(
            requester=world.researcher, instrument=world.instrument, start=tomorrow_9 + 3 * H, end=tomorrow_9 + 4 * H
        )
    assert "Suspended" in str(refused.value)
    api = world.client(world.researcher).post(
        "/api/v1/bookings/",
        {
            "instrument": world.instrument.pk,
            "start": (tomorrow_9 + 3 * H).isoformat(),
            "end": (tomorrow_9 + 4 * H).isoformat(),
        },
        format="json",
    )
    assert api.status_code == 400 and "Suspended" in api.json()["requester"][0]
    # A static rule comes first: a bad unit is the answer even while suspended.
    first = world.client(world.researcher).post(
        "/api/v1/bookings/",
        {
            "instrument": world.instrument.pk,
            "start": (tomorrow_9 + 3 * H + 7 * M).isoformat(),
            "end": (tomorrow_9 + 4 * H).isoformat(),
        },
        format="json",
    )
    assert first.status_code == 400 and "requester" not in first.json()
    # Other people, and other facilities, are not affected.
    assert booking_request(
        requester=world.outsider, instrument=world.instrument, start=tomorrow_9 + 5 * H, end=tomorrow_9 + 6 * H
    )


def test_appeal_and_decision(world, policy, tomorrow_9, committed):
    for days in (3, 2, 1):
        booking_no_show(actor=None, booking_id=past_booking(world, days).pk)
    s = Suspension.objects.get()
    with pytest.raises(ValidationError):
        suspension_appeal(user=world.researcher, suspension_id=s.pk, text=" ")
    from django.http import Http404

    with pytest.raises(Http404):
        suspension_appeal(user=world.outsider, suspension_id=s.pk, text="not mine")
    appeal = f"/api/v1/usage/suspensions/{s.pk}/appeal/"
    for who in (world.outsider, world.manager, world.finance):  # only the suspended user appeals
        assert world.client(who).post(appeal, {"text": "let them book"}, format="json").status_code == 404
    assert world.client(None).post(appeal, {"text": "x"}, format="json").status_code in (401, 403)
    c = world.client(world.researcher)
    assert c.post(appeal, {"text": 5}, format="json").status_code == 400
    assert c.post(appeal, {"text": "I was ill"}, format="json").status_code == 200
    again = c.post(f"/api/v1/usage/suspensions/{s.pk}/appeal/", {"text": "again"}, format="json")
    assert again.status_code == 409
    body = {"grant": True, "reason": "medical certificate seen"}
    decide = f"/api/v1/usage/suspensions/{s.pk}/decide/"
    for who in (world.researcher, world.outsider, world.finance):
        assert world.client(who).post(decide, body, format="json").status_code == 403
    bad = world.client(world.manager).post(decide, {"grant": "yes"}, format="json")
    assert bad.status_code == 400
    decided = world.client(world.manager).post(decide, body, format="json")
    assert decided.status_code == 200 and decided.json()["appeal"] == "granted"
    assert not Violation.objects.filter(waived=False).exists()
    with pytest.raises(Conflict):
        suspension_decide(actor=world.manager, suspension_id=s.pk, grant=False, reason="changed my mind")
    # Lifted at once: booking works again.
    assert booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )


def test_a_rejected_appeal_keeps_the_suspension(world, policy, tomorrow_9):
    for days in (3, 2, 1):
        booking_no_show(actor=None, booking_id=past_booking(world, days).pk)
    s = Suspension.objects.get()
    suspension_appeal(user=world.researcher, suspension_id=s.pk, text="please")
    suspension_decide(actor=world.manager, suspension_id=s.pk, grant=False, reason="three no-shows, no cause")
    with pytest.raises(ValidationError):
        booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)


def test_lists_and_policy_permissions(world, policy):
    for days in (3, 2, 1):
        booking_no_show(actor=None, booking_id=past_booking(world, days).pk)
    for who, n in (
        (world.researcher, 3),
        (world.manager, 3),
        (world.admin, 3),
        (world.outsider, 0),
        (world.finance, 0),
    ):
        assert world.client(who).get("/api/v1/usage/violations/").json()["count"] == n
        assert world.client(who).get("/api/v1/usage/suspensions/").json()["count"] == (1 if n else 0)
    assert world.client(None).get("/api/v1/usage/violations/").status_code in (401, 403)
    url = f"/api/v1/facilities/{world.facility.code}/violation-policy/"
    for who in (world.researcher, world.outsider, world.finance):
        assert world.client(who).get(url).status_code == 403
        assert world.client(who).put(url, {"max_violations": 1}, format="json").status_code == 403
    m = world.client(world.manager)
    assert m.get(url).json()["max_violations"] == 3
    assert m.put(url, {"max_violations": 2, "window_days": 30}, format="json").json()["max_violations"] == 2
    assert m.put(url, {"max_violations": "2"}, format="json").status_code == 400
    assert m.put(url, {"short_use_percent": 101}, format="json").status_code == 400
    assert LogEntry.objects.get_for_object(ViolationPolicy.objects.get()).count() == 2
    assert Decimal(ViolationPolicy.objects.get().window_days) == 30
