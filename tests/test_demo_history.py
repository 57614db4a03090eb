import datetime as dt
from collections import defaultdict
from itertools import pairwise

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from booking import rules
from booking.demo import PLACES, load_demo_history, past_months, plan
from booking.models import Booking, BookingEvent, BookingSplit
from common.time import local_tz
from facilities.models import Membership
from facilities.models.tenants import Role
from facilities.seed import load_catalog, load_demo_people

S = Booking.Status


@pytest.fixture(scope="module")
def _demo_loaded(django_db_setup, django_db_blocker):
    # Loading takes seconds; load once for the module inside a transaction rolled back at its end.
    # Each test still runs in its own savepoint (the `db` fixture), so the one that writes leaves no trace.
    with django_db_blocker.unblock(), transaction.atomic():
        load_catalog()
        load_demo_people()
        yield load_demo_history()
        transaction.set_rollback(True)


@pytest.fixture
def demo(_demo_loaded, db):
    return _demo_loaded


def _snapshot():
    return (
        sorted(
            Booking.objects.values_list(
                "pk",
                "instrument_id",
                "requester_id",
                "start",
                "end",
                "status",
                "actual_start",
                "actual_end",
                "sequence",
            )
        ),
        BookingEvent.objects.count(),
        sorted(BookingSplit.objects.values_list("booking_id", "account_id", "percent")),
    )


def test_every_researcher_completes_bookings_elsewhere_every_past_month(demo):
    assert demo["created"] > 0
    tz = local_tz()
    home = {
        m.user.username: m.institution_id
        for m in Membership.objects.filter(role=Role.RESEARCHER).select_related("user")
    }
    completed = defaultdict(int)
    for b in Booking.objects.filter(status=S.COMPLETED).select_related("requester", "instrument__facility"):
        assert b.instrument.facility.host_id != home[b.requester.username]
        assert b.actual_start and b.actual_end and b.start <= b.actual_start < b.actual_end <= b.end
        local = b.start.astimezone(tz)
        completed[(b.requester.username, local.year, local.month)] += 1
    for month in past_months(timezone.localdate()):
        for username in PLACES:
            assert completed[(username, month.year, month.month)] >= 2, (username, month)


def test_history_has_cancellations_no_shows_splits_and_upcoming_requests(demo):
    statuses = set(Booking.objects.values_list("status", flat=True))
    assert {S.COMPLETED, S.CANCELLED, S.NO_SHOW, S.REQUESTED, S.APPROVED} <= statuses
    now = timezone.now()
    waiting = Booking.objects.filter(status=S.REQUESTED, start__gt=now, instrument__facility__code="SSRF")
    assert waiting.count() >= 2
    assert Booking.objects.filter(status=S.APPROVED, start__gt=now).exists()
    assert not Booking.objects.filter(status__in=[S.REQUESTED, S.APPROVED], end__lte=now).exists()
    # Some bookings are paid by accounts of two institutions.
    cross = [
        b
        for b in Booking.objects.prefetch_related("splits__account")
        if len({s.account.institution_id for s in b.splits.all()}) == 2
    ]
    assert {b.requester.username for b in cross} == {"wei.zhang", "lin.chen"}
    for b in cross:
        assert sum(s.percent for s in b.splits.all()) == 100


def test_history_respects_units_and_operating_hours_and_never_overlaps(demo):
    tz = local_tz()
    held_by_instrument = defaultdict(list)
    for b in Booking.objects.select_related("instrument", "instrument__facility"):
        unit = b.instrument.booking_unit_minutes
        for moment in (b.start, b.end):
            local = moment.astimezone(tz)
            assert (local.hour * 60 + local.minute) % unit == 0
        assert b.instrument.min_minutes <= b.duration_minutes <= b.instrument.max_minutes
        rules.check_open(instrument=b.instrument, start=b.start, end=b.end)
        if b.status in (S.REQUESTED, S.APPROVED, S.COMPLETED, S.NO_SHOW):
            held_by_instrument[b.instrument_id].append((b.start, b.hold_end))
    for spans in held_by_instrument.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in pairwise(spans))


def test_timestamps_look_historic(demo):
    now = timezone.now()
    for b in Booking.objects.filter(status=S.CANCELLED):
        assert b.cancelled_at < b.start and b.created_at <= b.cancelled_at
    assert not BookingEvent.objects.filter(at__gt=now).exists()


def test_second_run_changes_nothing(demo):
    before = _snapshot()
    call_command("seed_demo_history", stdout=open("/dev/null", "w"))
    again = load_demo_history()
    assert again["created"] == 0
    # Nor on a later day, when "three months back" means other dates.
    assert load_demo_history(now=timezone.now() + dt.timedelta(days=40))["created"] == 0
    assert _snapshot() == before


def test_plan_is_deterministic_and_relative_to_today():
    today = dt.date(2026, 11, 25)
    assert plan(today) == plan(today)
    starts = [p.start.date() for p in plan(today) if p.key.startswith("demo-history")]
    assert min(starts) >= dt.date(2026, 8, 1) and max(starts) < dt.date(2026, 11, 1)
    assert past_months(dt.date(2026, 1, 15)) == [dt.date(2025, 10, 1), dt.date(2025, 11, 1), dt.date(2025, 12, 1)]
