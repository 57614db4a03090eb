"""Properties of the figures over random bookings, and of periods."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.models import Booking
from reports.periods import parse_period
from reports.selectors import facility_report

from .factories.reports import past_booking

TZ = ZoneInfo("Asia/Shanghai")
Q3_START = dt.datetime(2026, 7, 1, tzinfo=TZ)
STATUSES = ["completed", "no_show", "approved", "requested", "cancelled", "rejected"]

booking_specs = st.lists(
    st.tuples(
        st.integers(min_value=-48, max_value=92 * 24 + 24),  # start, hours from 1 July (some outside Q3)
        st.integers(min_value=1, max_value=30),  # hours long
        st.sampled_from(STATUSES),
        st.integers(min_value=-90, max_value=90),  # actual start shift, minutes
        st.integers(min_value=-90, max_value=90),  # actual end shift, minutes
        st.booleans(),  # the host's booking, or the outsider's
    ),
    max_size=12,
)


@pytest.mark.django_db
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=booking_specs)
def test_months_add_up_to_the_quarter_and_parts_to_wholes(world, specs):
    Booking.objects.all().delete()
    host_user = world.manager
    cursor = {}
    for offset, length, status, shift_a, shift_b, by_host in specs:
        start = Q3_START + dt.timedelta(hours=offset)
        # Keep each instrument's bookings apart, as the platform does.
        start = max(start, cursor.get("next", start))
        end = start + dt.timedelta(hours=length)
        cursor["next"] = end + dt.timedelta(hours=4)
        actual = {}
        if status == "completed":
            a_start = start + dt.timedelta(minutes=shift_a)
            a_end = max(end + dt.timedelta(minutes=shift_b), a_start + dt.timedelta(minutes=1))
            actual = {"actual_start": a_start, "actual_end": a_end}
        past_booking(
            instrument=world.instrument,
            requester=host_user if by_host else world.outsider,
            institution=world.sari if by_host else world.zju,
            start=start,
            end=end,
            status=status,
            cancelled_at=start - dt.timedelta(hours=1) if status == "cancelled" else None,
            **actual,
        )
    quarter = facility_report(world.facility, parse_period("2026-Q3")).totals
    months = [facility_report(world.facility, parse_period(f"2026-{m:02d}")).totals for m in (7, 8, 9)]
    for name in (
        "available_minutes",
        "booked_minutes",
        "used_minutes",
        "host_minutes",
        "shared_minutes",
        "no_show_minutes",
        "late_cancel_minutes",
    ):
        assert getattr(quarter, name) == sum(getattr(m, name) for m in months), name
    assert quarter.host_minutes + quarter.shared_minutes == quarter.used_minutes
    assert quarter.used_minutes <= quarter.available_minutes
    assert quarter.no_show_minutes <= quarter.booked_minutes
    assert quarter.outside_institution_ids <= {world.zju.pk}


@pytest.mark.parametrize(
    "text,label,start,end",
    [
        ("2026", "2026", (2026, 1, 1), (2027, 1, 1)),
        ("2026-q4", "2026-Q4", (2026, 10, 1), (2027, 1, 1)),
        ("2026-2", "2026-02", (2026, 2, 1), (2026, 3, 1)),
        (" 2026-12 ", "2026-12", (2026, 12, 1), (2027, 1, 1)),
    ],
)
def test_periods_are_local_half_open_intervals(text, label, start, end):
    p = parse_period(text)
    assert p.label == label
    assert (p.start, p.end) == (dt.datetime(*start, tzinfo=TZ), dt.datetime(*end, tzinfo=TZ))
    assert p.start.utcoffset() == dt.timedelta(hours=8)


def test_months_of_a_period_and_recent_months():
    from reports.periods import months_of, recent_months

    assert [p.label for p in months_of(parse_period("2026-Q4"))] == ["2026-10", "2026-11", "2026-12"]
    assert len(months_of(parse_period("2026"))) == 12
    january = dt.datetime(2026, 1, 15, tzinfo=TZ)
    assert [p.label for p in recent_months(3, now=january)] == ["2025-10", "2025-11", "2025-12"]


@pytest.mark.django_db
def test_series_gives_one_report_per_month(world):
    from reports.periods import months_of
    from reports.selectors import facility_series

    past_booking(
        instrument=world.instrument,
        requester=world.outsider,
        institution=world.zju,
        start=dt.datetime(2026, 8, 31, 22, tzinfo=TZ),
        end=dt.datetime(2026, 9, 1, 1, tzinfo=TZ),
    )
    series = facility_series(world.facility, months_of(parse_period("2026-Q3")))
    assert [(r.period.label, r.totals.used_minutes) for r in series] == [
        ("2026-07", 0),
        ("2026-08", 120),
        ("2026-09", 60),
    ]
