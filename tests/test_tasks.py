"""Periodic sweeps: expire, complete, waitlist; catch-up after missed runs; idempotence; beat wiring."""

import datetime as dt
import importlib.util

import pytest
from django.apps import apps as django_apps
from django.conf import settings

from booking.models import Booking, BookingEvent, WaitlistEntry
from booking.services import booking_approve, booking_cancel, booking_request
from booking.services.waitlist import waitlist_join
from booking.tasks import EXPIRY_REASON, complete_ended_bookings, expire_stale_requests, process_waitlist
from config.celery import app as celery_app

H = dt.timedelta(hours=1)


pytestmark = pytest.mark.usefixtures("tasks_in_process")


def iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def test_unapproved_requests_are_rejected_once_their_start_passes(world, tomorrow_9, committed, mailoutbox):
    world.instrument.requires_approval = True
    world.instrument.save()
    starts = [tomorrow_9, tomorrow_9 + 2 * H, tomorrow_9 + 4 * H, tomorrow_9 + 8 * H]
    made = [
        booking_request(requester=world.researcher, instrument=world.instrument, start=s, end=s + H) for s in starts
    ]
    booking_approve(actor=world.manager, booking_id=made[1].pk)
    # Beat was down from before the first start until after the third: one run handles every one due.
    assert committed(expire_stale_requests.delay, now=iso(tomorrow_9 + 5 * H)).get() == 2
    status = dict(Booking.objects.values_list("pk", "status"))
    assert [status[b.pk] for b in made] == ["rejected", "approved", "rejected", "requested"]
    event = BookingEvent.objects.filter(booking=made[0], to_status="rejected").get()
    assert event.actor is None and event.reason == EXPIRY_REASON
    rejected_mail = [m for m in mailoutbox if m.subject.startswith("Not approved")]
    assert len(rejected_mail) == 2 and "still waiting for approval" in rejected_mail[0].body
    # A second run at the same moment finds nothing left: same state, no more mail.
    sent = len(mailoutbox)
    assert committed(expire_stale_requests.delay, now=iso(tomorrow_9 + 5 * H)).get() == 0
    assert dict(Booking.objects.values_list("pk", "status")) == status and len(mailoutbox) == sent


def test_a_request_is_not_expired_before_its_start(world, tomorrow_9):
    world.instrument.requires_approval = True
    world.instrument.save()
    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    assert expire_stale_requests(now=iso(tomorrow_9 - dt.timedelta(minutes=1))) == 0
    assert Booking.objects.get(pk=b.pk).status == "requested"
    assert expire_stale_requests(now=iso(tomorrow_9)) == 1


def test_ended_bookings_are_completed_with_booked_times(world, tomorrow_9, settings):
    settings.AUTO_COMPLETE_AFTER_MINUTES = 0
    made = [
        booking_request(
            requester=world.researcher,
            instrument=world.instrument,
            start=tomorrow_9 + k * 2 * H,
            end=tomorrow_9 + (k * 2 + 1) * H,
        )
        for k in range(4)
    ]
    booking_cancel(actor=world.researcher, booking_id=made[1].pk)
    # Ended: #0 and #2 (and #1, cancelled: untouched); #3 is still running at that moment.
    moment = tomorrow_9 + 6 * H + dt.timedelta(minutes=30)
    assert complete_ended_bookings(now=iso(moment)) == 2
    rows = {b.pk: b for b in Booking.objects.all()}
    assert [rows[b.pk].status for b in made] == ["completed", "cancelled", "completed", "approved"]
    for b in (made[0], made[2]):
        assert (rows[b.pk].actual_start, rows[b.pk].actual_end) == (b.start, b.end)
        assert BookingEvent.objects.get(booking=b, to_status="completed").actor is None
    assert complete_ended_bookings(now=iso(moment)) == 0
    assert complete_ended_bookings(now=iso(tomorrow_9 + 8 * H)) == 1


def test_managers_keep_a_grace_period_to_record_a_no_show(world, tomorrow_9, settings):
    settings.AUTO_COMPLETE_AFTER_MINUTES = 24 * 60
    b = booking_request(requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    assert complete_ended_bookings(now=iso(tomorrow_9 + 20 * H)) == 0
    assert Booking.objects.get(pk=b.pk).status == "approved"
    assert complete_ended_bookings(now=iso(tomorrow_9 + 25 * H)) == 1
    assert Booking.objects.get(pk=b.pk).status == "completed"


def test_sweeps_refuse_a_naive_now(world):
    with pytest.raises(ValueError, match="aware"):
        expire_stale_requests(now="2026-01-01T09:00:00")


def test_waitlist_sweep_offers_a_slot_whose_signal_was_missed(world, tomorrow_9, committed, mailoutbox):
    held = booking_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H
    )
    entry = waitlist_join(user=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    booking_cancel(actor=world.researcher, booking_id=held.pk)  # its after-commit offer never runs here
    assert WaitlistEntry.objects.get(pk=entry.pk).status == "waiting"
    result = committed(process_waitlist.delay).get()
    assert result["offered"] == 1
    assert WaitlistEntry.objects.get(pk=entry.pk).status == "offered"
    [offer] = [m for m in mailoutbox if m.to == [world.outsider.email]]
    assert "is free" in offer.subject
    assert committed(process_waitlist.delay).get()["offered"] == 0
    assert len([m for m in mailoutbox if m.to == [world.outsider.email]]) == 1


def test_beat_schedule_names_registered_tasks():
    # What a worker does at start: import every installed app's tasks module.
    celery_app.loader.import_default_modules()
    for app_config in django_apps.get_app_configs():
        if importlib.util.find_spec(f"{app_config.name}.tasks") is not None:
            importlib.import_module(f"{app_config.name}.tasks")
    assert settings.CELERY_BEAT_SCHEDULE
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        task = entry["task"]
        assert task in celery_app.tasks, f"beat entry {name!r} names {task}, which no module registers"
        assert entry["schedule"].remaining_estimate(dt.datetime.now(dt.UTC)) <= dt.timedelta(days=31)
