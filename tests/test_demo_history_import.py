"""booking_import: past bookings through the same conflict check and transitions as live ones,
skipping only the rules about when a booking is made."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from booking.models import Booking, BookingEvent
from booking.services import booking_request
from booking.services.imports import booking_import, import_exists
from common.errors import Conflict
from facilities.models import Closure

H = dt.timedelta(hours=1)
S = Booking.Status


@pytest.fixture
def last_week(tomorrow_9):
    return tomorrow_9 - dt.timedelta(days=8)


@pytest.mark.parametrize("status", [S.COMPLETED, S.NO_SHOW, S.CANCELLED, S.REJECTED, S.APPROVED, S.REQUESTED])
def test_every_status_is_reached_through_the_transitions(world, last_week, tomorrow_9, status):
    world.instrument.requires_approval = True
    world.instrument.save()
    start = last_week if status not in (S.APPROVED, S.REQUESTED) else tomorrow_9
    b = booking_import(
        requester=world.researcher,
        instrument=world.instrument,
        start=start,
        end=start + 2 * H,
        status=status,
        decided_by=world.manager,
        import_key=f"k-{status}",
    )
    assert b.status == status
    trail = list(BookingEvent.objects.filter(booking=b).values_list("from_status", "to_status"))
    assert trail[0] == ("", S.REQUESTED)
    assert trail[-1][1] == status
    assert import_exists(f"k-{status}") and not import_exists("k-other")
    now = timezone.now()
    assert b.created_at <= now and not BookingEvent.objects.filter(booking=b, at__gt=now).exists()
    if status in (S.APPROVED, S.REJECTED, S.COMPLETED, S.NO_SHOW):
        assert b.decided_by == world.manager and b.decided_at < b.start
    if status == S.CANCELLED:
        assert b.cancelled_at < b.start


def test_completed_keeps_actual_times(world, last_week):
    b = booking_import(
        requester=world.researcher,
        instrument=world.instrument,
        start=last_week,
        end=last_week + 3 * H,
        status=S.COMPLETED,
        actual_start=last_week + dt.timedelta(minutes=15),
        actual_end=last_week + 2 * H,
    )
    assert (b.actual_start, b.actual_end) == (last_week + dt.timedelta(minutes=15), last_week + 2 * H)


def test_import_checks_conflicts_and_rules_except_when_made(world, last_week):
    booking_import(
        requester=world.researcher,
        instrument=world.instrument,
        start=last_week,
        end=last_week + 2 * H,
        status=S.COMPLETED,
    )
    with pytest.raises(Conflict):
        booking_import(
            requester=world.outsider,
            instrument=world.instrument,
            start=last_week + H,
            end=last_week + 3 * H,
            status=S.COMPLETED,
        )
    with pytest.raises(ValidationError, match="Booking unit"):
        booking_import(
            requester=world.outsider,
            instrument=world.instrument,
            start=last_week + dt.timedelta(minutes=150),
            end=last_week + 4 * H,
            status=S.COMPLETED,
        )
    Closure.objects.create(facility=world.facility, start=last_week + 5 * H, end=last_week + 6 * H, reason="top-up")
    with pytest.raises(ValidationError, match="top-up"):
        booking_import(
            requester=world.outsider,
            instrument=world.instrument,
            start=last_week + 5 * H,
            end=last_week + 6 * H,
            status=S.COMPLETED,
        )
    world.instrument.requires_qualification = True
    world.instrument.save()
    with pytest.raises(ValidationError, match="Qualification"):
        booking_import(
            requester=world.outsider,
            instrument=world.instrument,
            start=last_week + 8 * H,
            end=last_week + 9 * H,
            status=S.COMPLETED,
        )
    # The same past time through the live path is refused: that rule is the one an import skips.
    world.instrument.requires_qualification = False
    world.instrument.save()
    with pytest.raises(ValidationError, match="past"):
        booking_request(
            requester=world.outsider, instrument=world.instrument, start=last_week + 8 * H, end=last_week + 9 * H
        )
    assert Booking.objects.count() == 1


def test_future_cannot_be_completed_and_bad_status_is_refused(world, tomorrow_9):
    with pytest.raises(ValidationError, match="not started"):
        booking_import(
            requester=world.researcher,
            instrument=world.instrument,
            start=tomorrow_9,
            end=tomorrow_9 + H,
            status=S.COMPLETED,
        )
    with pytest.raises(ValidationError, match="Unknown status"):
        booking_import(
            requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H, status="done"
        )
    assert not Booking.objects.exists()


def test_demo_history_without_the_demo_people_says_what_to_run_first(db):
    # Here, not in test_demo_history.py, whose module-wide fixture has the demo people loaded.
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="seed_demo_people"):
        call_command("seed_demo_history", stdout=open("/dev/null", "w"))


def test_imported_history_mails_nobody_but_later_changes_do(
    world, last_week, tomorrow_9, django_capture_on_commit_callbacks, mailoutbox, tasks_in_process
):
    from booking.services import booking_cancel

    with django_capture_on_commit_callbacks(execute=True):
        for n, status in enumerate((S.CANCELLED, S.REJECTED, S.COMPLETED, S.NO_SHOW)):
            start = last_week + dt.timedelta(days=n)
            booking_import(
                requester=world.researcher,
                instrument=world.instrument,
                start=start,
                end=start + H,
                status=status,
                decided_by=world.manager,
            )
        upcoming = booking_import(
            requester=world.researcher,
            instrument=world.instrument,
            start=tomorrow_9,
            end=tomorrow_9 + H,
            status=S.APPROVED,
            decided_by=world.manager,
        )
    assert mailoutbox == []  # none of that is news to anyone
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(actor=world.researcher, booking_id=upcoming.pk, reason="plans changed")
    assert sorted(m.subject.split(":")[0] for m in mailoutbox) == ["Cancelled", "Time given back"]
