"""Booking mail: recipients, language, attached invitations, once-only delivery, digest, retries."""

import datetime as dt

import icalendar
import pytest
import vobject
from django.core import mail
from django.db import transaction

from booking.models import Booking, NotificationLog, NotificationPreference, WaitlistEntry
from booking.notifications.services import retry_failed_notifications, send_manager_digests, send_reminders
from booking.services import booking_approve, booking_cancel, booking_reject, booking_request
from booking.tasks import send_booking_notification, send_waitlist_offer

H = dt.timedelta(hours=1)


pytestmark = pytest.mark.usefixtures("tasks_in_process")


@pytest.fixture
def approval(world):
    world.instrument.requires_approval = True
    world.instrument.save()
    return world


def calendar_parts(message) -> list[tuple[str, bytes]]:
    """(method parameter, body) of each text/calendar part of a sent message."""
    parts = []
    for part in message.message().walk():
        if part.get_content_type() == "text/calendar":
            parts.append((part.get_param("method"), part.get_payload(decode=True)))
    return parts


def invitation_event(message) -> tuple[str, icalendar.Event]:
    [(method, body)] = calendar_parts(message)
    cal = icalendar.Calendar.from_ical(body)
    vobject.readOne(body.decode())  # an independent parser accepts it too
    assert str(cal["method"]) == method
    [event] = cal.walk("VEVENT")
    return method, event


def to(user) -> list:
    return [m for m in mail.outbox if m.to == [user.email]]


def test_request_mails_requester_and_managers_then_approval_invites(approval, tomorrow_9, committed, mailoutbox):
    w = approval
    b = committed(
        booking_request,
        requester=w.researcher,
        instrument=w.instrument,
        start=tomorrow_9,
        end=tomorrow_9 + H,
        purpose="XAS on catalysts",
    )
    [received] = to(w.researcher)
    assert received.subject.startswith("Request received") and "BL1" in received.subject
    method, ev = invitation_event(received)
    assert method == "REQUEST" and ev["status"] == "TENTATIVE" and str(ev["uid"]) == f"booking-{b.pk}@sanjiao"
    [to_manager] = to(w.manager)
    assert "New request" in to_manager.subject and "XAS on catalysts" in to_manager.body
    assert calendar_parts(to_manager) == []
    assert not to(w.outsider) and not to(w.finance)

    committed(booking_approve, actor=w.manager, booking_id=b.pk)
    approved = to(w.researcher)[-1]
    assert approved.subject.startswith("Approved")
    method, ev = invitation_event(approved)
    assert method == "REQUEST" and ev["status"] == "CONFIRMED" and int(ev["sequence"]) == 1
    assert str(ev["uid"]) == f"booking-{b.pk}@sanjiao"
    assert str(ev["attendee"]) == f"mailto:{w.researcher.email}"
    assert ev.decoded("dtstart") == tomorrow_9
    html = [c for c, mime in approved.alternatives if mime == "text/html"]
    assert html and "Approved" in html[0]
    assert len(to(w.manager)) == 1


def test_rejection_in_chinese_with_cancel(approval, tomorrow_9, committed, mailoutbox):
    w = approval
    w.researcher.language = "zh-hans"
    w.researcher.save()
    b = committed(
        booking_request, requester=w.researcher, instrument=w.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    committed(booking_reject, actor=w.manager, booking_id=b.pk, reason="光束线维护 / beamline maintenance")
    rejected = to(w.researcher)[-1]
    assert rejected.subject.startswith("预约未获批准")
    assert "光束线维护" in rejected.body and "您好" in rejected.body
    assert rejected.extra_headers["Content-Language"] == "zh-hans"
    method, ev = invitation_event(rejected)
    assert method == "CANCEL" and ev["status"] == "CANCELLED" and int(ev["sequence"]) == 1
    # The manager writes in English; they read English.
    assert to(w.manager)[0].subject.startswith("New request")


def test_cancellation_sends_cancel_and_auto_approval_sends_only_approval(world, tomorrow_9, committed, mailoutbox):
    b = committed(
        booking_request, requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    [approved] = mailoutbox
    assert approved.to == [world.researcher.email] and approved.subject.startswith("Approved")
    assert invitation_event(approved)[1]["sequence"] == 0
    committed(booking_cancel, actor=world.manager, booking_id=b.pk, reason="magnet quench")
    cancelled = mailoutbox[-1]
    assert (
        cancelled.subject.startswith("Cancelled")
        and "by the facility" in cancelled.body
        and "magnet quench" in cancelled.body
    )
    method, ev = invitation_event(cancelled)
    assert method == "CANCEL" and int(ev["sequence"]) == 1 and str(ev["uid"]) == f"booking-{b.pk}@sanjiao"
    assert len(mailoutbox) == 2


def test_task_run_twice_mails_once(world, tomorrow_9, mailoutbox):
    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    assert mailoutbox == []  # nothing committed in this test, so nothing was enqueued
    first = send_booking_notification.delay(kind="approved", booking_id=b.pk, sequence=b.sequence).get()
    second = send_booking_notification.delay(kind="approved", booking_id=b.pk, sequence=b.sequence).get()
    assert first["sent"] == 1 and second == {**second, "sent": 0, "duplicate": 1}
    assert len(mailoutbox) == 1
    [row] = NotificationLog.objects.all()
    assert (row.kind, row.booking_id, row.sequence, row.recipient_id, row.status) == (
        "approved",
        b.pk,
        0,
        world.researcher.pk,
        "sent",
    )


def test_rolled_back_change_mails_nobody(approval, tomorrow_9, django_capture_on_commit_callbacks, mailoutbox):
    w = approval
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                booking_request(requester=w.researcher, instrument=w.instrument, start=tomorrow_9, end=tomorrow_9 + H)
                raise RuntimeError("something later in the same transaction failed")
    assert callbacks == [] and mailoutbox == []
    assert not Booking.objects.exists() and not NotificationLog.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_only_committed_changes_mail_with_real_transactions(approval, tomorrow_9, mailoutbox):
    w = approval
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            booking_request(requester=w.researcher, instrument=w.instrument, start=tomorrow_9, end=tomorrow_9 + H)
            raise RuntimeError("rolled back")
    assert mailoutbox == []
    b = booking_request(requester=w.researcher, instrument=w.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    assert {m.subject.split(":")[0] for m in mailoutbox} == {"Request received", "New request to approve"}
    assert NotificationLog.objects.filter(booking=b, status="sent").count() == 2


def test_superseded_message_is_dropped(approval, tomorrow_9, mailoutbox):
    w = approval
    b = booking_request(requester=w.researcher, instrument=w.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    booking_approve(actor=w.manager, booking_id=b.pk)
    booking_cancel(actor=w.researcher, booking_id=b.pk)
    # The approval mail's task runs late, after the cancellation: it must not invite to a dead booking.
    result = send_booking_notification.delay(kind="approved", booking_id=b.pk, sequence=1).get()
    assert result["superseded"] == 1 and mailoutbox == []


def test_manager_digest_collects_requests_once(approval, tomorrow_9, committed, mailoutbox):
    w = approval
    NotificationPreference.objects.create(user=w.manager, manager_digest=True)
    first = committed(
        booking_request, requester=w.researcher, instrument=w.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    second = committed(
        booking_request, requester=w.outsider, instrument=w.instrument, start=tomorrow_9 + 2 * H, end=tomorrow_9 + 3 * H
    )
    assert to(w.manager) == []  # no mail per request
    assert send_manager_digests() == 2
    [digest] = to(w.manager)
    assert digest.subject == "2 new requests to approve"
    assert f"#{first.pk}" in digest.body and f"#{second.pk}" in digest.body
    assert send_manager_digests() == 0 and len(to(w.manager)) == 1
    third = committed(
        booking_request, requester=w.outsider, instrument=w.instrument, start=tomorrow_9 + 4 * H, end=tomorrow_9 + 5 * H
    )
    committed(booking_approve, actor=w.manager, booking_id=first.pk)
    assert send_manager_digests() == 1
    latest = to(w.manager)[-1]
    assert f"#{third.pk}" in latest.body and f"#{first.pk}" not in latest.body


def test_reminders_catch_up_and_never_repeat(world, tomorrow_9, mailoutbox):
    starts = [tomorrow_9, tomorrow_9 + 2 * H, tomorrow_9 + 4 * H, tomorrow_9 + 30 * H]
    bookings = [
        booking_request(requester=world.researcher, instrument=world.instrument, start=s, end=s + H) for s in starts
    ]
    # The sweep was down for hours: at 08:00 the day before nothing was due yet...
    assert send_reminders(now=tomorrow_9 - 25 * H) == 0
    # ...and the next run sends every reminder now due, in one go.
    assert send_reminders(now=tomorrow_9 - 20 * H) == 3
    assert send_reminders(now=tomorrow_9 - 19 * H) == 0
    reminded = set(NotificationLog.objects.filter(kind="reminder").values_list("booking_id", flat=True))
    assert reminded == {b.pk for b in bookings[:3]}
    assert all(m.subject.startswith("Reminder") for m in mailoutbox) and len(mailoutbox) == 3
    # Started bookings get no reminder.
    assert send_reminders(now=starts[3] + H) == 0


def test_failed_send_is_retried_once_it_works(world, tomorrow_9, mailoutbox, settings):
    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    settings.EMAIL_BACKEND = "tests.test_notifications.BrokenBackend"
    result = send_booking_notification.delay(kind="approved", booking_id=b.pk, sequence=0).get()
    assert result["failed"] == 1
    row = NotificationLog.objects.get()
    assert row.status == "failed" and "SMTP server down" in row.error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert retry_failed_notifications() == 1
    assert retry_failed_notifications() == 0
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 2 and len(mailoutbox) == 1


def test_user_without_email_is_skipped_not_retried(world, tomorrow_9, mailoutbox):
    world.researcher.email = ""
    world.researcher.save()
    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    assert send_booking_notification.delay(kind="approved", booking_id=b.pk, sequence=0).get()["skipped"] == 1
    assert retry_failed_notifications() == 0 and mailoutbox == []


def test_waitlist_offer_mail(world, tomorrow_9, mailoutbox):
    entry = WaitlistEntry.objects.create(
        instrument=world.instrument,
        user=world.outsider,
        start=tomorrow_9,
        end=tomorrow_9 + H,
        status=WaitlistEntry.Status.OFFERED,
        offered_at=tomorrow_9 - 20 * H,
        offer_expires_at=tomorrow_9 - H,
    )
    assert send_waitlist_offer.delay(entry_id=entry.pk).get()["sent"] == 1
    assert send_waitlist_offer.delay(entry_id=entry.pk).get()["duplicate"] == 1
    [offer] = mailoutbox
    assert offer.to == [world.outsider.email] and "is free" in offer.subject
    entry.status = WaitlistEntry.Status.EXPIRED
    entry.save()
    assert send_waitlist_offer.delay(entry_id=entry.pk).get()["superseded"] == 1


def test_preferences_endpoint(world):
    api = world.client(world.manager)
    assert api.get("/calendar/notifications/preferences/").json() == {"manager_digest": False}
    assert api.put("/calendar/notifications/preferences/", {"manager_digest": True}, format="json").json() == {
        "manager_digest": True
    }
    assert NotificationPreference.objects.get(user=world.manager).manager_digest is True
    bad = api.patch("/calendar/notifications/preferences/", {"manager_digest": "perhaps"}, format="json")
    assert bad.status_code == 400 and "manager_digest" in bad.json()
    assert world.client(None).get("/calendar/notifications/preferences/").status_code in (401, 403)


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server down")


def test_move_updates_the_invitation_and_a_re_request_reaches_managers_again(
    approval, tomorrow_9, committed, mailoutbox
):
    from booking.services.moves import booking_move

    w = approval
    b = committed(
        booking_request, requester=w.researcher, instrument=w.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    committed(booking_approve, actor=w.manager, booking_id=b.pk)
    assert len(to(w.manager)) == 1
    # The manager moves it: it stays approved; the researcher's calendar entry moves with it.
    committed(booking_move, actor=w.manager, booking_id=b.pk, start=tomorrow_9 + 2 * H, end=tomorrow_9 + 3 * H)
    moved = to(w.researcher)[-1]
    assert moved.subject.startswith("Changed")
    method, ev = invitation_event(moved)
    assert method == "REQUEST" and ev.decoded("dtstart") == tomorrow_9 + 2 * H and int(ev["sequence"]) == 2
    assert len(to(w.manager)) == 1
    # The requester moves it: back to requested, so the managers are asked again.
    committed(booking_move, actor=w.researcher, booking_id=b.pk, start=tomorrow_9 + 4 * H, end=tomorrow_9 + 5 * H)
    assert Booking.objects.get(pk=b.pk).status == "requested"
    again = to(w.manager)[-1]
    assert len(to(w.manager)) == 2 and again.subject.startswith("New request")
    assert invitation_event(to(w.researcher)[-1])[1]["status"] == "TENTATIVE"


def test_a_claim_left_by_a_dead_process_is_taken_over_after_a_while(world, tomorrow_9, mailoutbox, settings):
    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    claimed_at = tomorrow_9 - 30 * H
    NotificationLog.objects.create(
        key=NotificationLog.make_key("approved", f"booking-{b.pk}", 0, world.researcher.pk),
        kind="approved",
        booking=b,
        recipient=world.researcher,
        status="pending",
        attempts=1,
        claimed_at=claimed_at,
    )
    # Still fresh: another process may be sending it right now.
    fresh = claimed_at + dt.timedelta(minutes=settings.NOTIFICATION_STALE_CLAIM_MINUTES - 1)
    assert retry_failed_notifications(now=fresh) == 0 and mailoutbox == []
    stale = claimed_at + dt.timedelta(minutes=settings.NOTIFICATION_STALE_CLAIM_MINUTES + 1)
    assert retry_failed_notifications(now=stale) == 1
    row = NotificationLog.objects.get()
    assert row.status == "sent" and row.attempts == 2 and len(mailoutbox) == 1


def test_a_message_that_cannot_be_built_fails_and_stops_after_max_attempts(
    world, tomorrow_9, mailoutbox, settings, monkeypatch
):
    from booking.notifications import services

    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    monkeypatch.setattr(services, "booking_message", lambda *a, **k: 1 / 0)
    assert send_booking_notification.delay(kind="approved", booking_id=b.pk, sequence=0).get()["failed"] == 1
    for _ in range(settings.NOTIFICATION_MAX_ATTEMPTS + 2):
        retry_failed_notifications()
    row = NotificationLog.objects.get()
    assert (
        row.status == "failed"
        and row.attempts == settings.NOTIFICATION_MAX_ATTEMPTS
        and "division by zero" in row.error
    )
    assert mailoutbox == []


def test_mail_links_open_pages_that_exist_for_their_reader(approval, tomorrow_9, committed, mailoutbox, client):
    import re

    w = approval
    b = committed(
        booking_request, requester=w.researcher, instrument=w.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    for reader, expected in ((w.researcher, f"/bookings/{b.pk}/"), (w.manager, f"/console/#booking-{b.pk}")):
        [message] = to(reader)
        [url] = re.findall(r"https?://\S+/(?:bookings/\d+/|console/#booking-\d+)", message.body)
        assert url.endswith(expected)
        client.force_login(reader)
        assert client.get(expected.split("#")[0]).status_code == 200


def test_a_requester_cancelling_tells_the_facility_managers(world, tomorrow_9, committed, mailoutbox):
    second = world.outsider  # a researcher elsewhere; make them a second manager of the facility, in Chinese
    from facilities.models.tenants import Role

    from .factories.facilities import member

    member(second, world.zju, Role.FACILITY_MANAGER, [world.facility])
    second.language = "zh-hans"
    second.save()
    b = committed(
        booking_request, requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    mailoutbox.clear()
    committed(booking_cancel, actor=world.researcher, booking_id=b.pk, reason="sample not ready")
    [cancelled] = to(world.researcher)
    assert cancelled.subject.startswith("Cancelled") and "as you asked" in cancelled.body
    [released] = to(world.manager)
    assert released.subject.startswith("Time given back: BL1")
    assert (
        "cancelled booking" in released.body and "sample not ready" in released.body and "free again" in released.body
    )
    assert "/console/" in released.body and calendar_parts(released) == []  # a notice, not an invitation
    [released_zh] = to(second)
    assert (
        released_zh.subject.startswith("预约时段已释放") and released_zh.extra_headers["Content-Language"] == "zh-hans"
    )
    assert len(mailoutbox) == 3
    # Running the task again sends nothing more.
    send_booking_notification(kind="released", booking_id=b.pk, sequence=Booking.objects.get(pk=b.pk).sequence)
    assert len(mailoutbox) == 3


def test_a_facility_cancelling_does_not_mail_its_own_managers(world, tomorrow_9, committed, mailoutbox):
    b = committed(
        booking_request, requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    mailoutbox.clear()
    committed(booking_cancel, actor=world.manager, booking_id=b.pk, reason="magnet quench")
    assert [m.to for m in mailoutbox] == [[world.researcher.email]]
