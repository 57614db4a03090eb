import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from booking.models import Booking, BookingSeries
from booking.services import booking_cancel, booking_move, booking_request, booking_series_request
from booking.services.series import occurrence_times
from common.errors import Conflict
from facilities.models import Closure

H = dt.timedelta(hours=1)
W = dt.timedelta(weeks=1)


def test_series_books_each_week_at_the_same_local_time(world, tomorrow_9):
    result = booking_series_request(
        requester=world.researcher,
        instrument=world.instrument,
        start=tomorrow_9,
        end=tomorrow_9 + 2 * H,
        count=4,
        purpose="weekly run",
    )
    assert [b.start for b in result.bookings] == [tomorrow_9 + n * W for n in range(4)]
    assert all(b.series_id == result.series.pk and b.purpose == "weekly run" for b in result.bookings)
    assert all(b.start.astimezone(tomorrow_9.tzinfo).time() == dt.time(9) for b in result.bookings)
    assert result.skipped == []
    assert (result.series.count, result.series.interval_weeks) == (4, 1)


def test_series_is_all_or_nothing_and_reports_each_occurrence(world, tomorrow_9):
    booking_request(
        requester=world.outsider, instrument=world.instrument, start=tomorrow_9 + W + H, end=tomorrow_9 + W + 3 * H
    )
    Closure.objects.create(
        facility=world.facility, start=tomorrow_9 + 3 * W, end=tomorrow_9 + 3 * W + 4 * H, reason="beam study"
    )
    with pytest.raises(Conflict) as err:
        booking_series_request(
            requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + 2 * H, count=4
        )
    assert err.value.code == "series_unavailable"
    problems = err.value.extra["occurrences"]
    assert [(p["occurrence"], p["code"]) for p in problems] == [(2, "slot_unavailable"), (4, "rule_violation")]
    assert problems[0]["start"] == (tomorrow_9 + W).isoformat()
    assert problems[0]["conflicts"] == [
        {"start": (tomorrow_9 + W + H).isoformat(), "end": (tomorrow_9 + W + 3 * H).isoformat()}
    ]
    assert "beam study" in problems[1]["detail"]
    assert not Booking.objects.filter(requester=world.researcher).exists()
    assert not BookingSeries.objects.exists()


def test_series_with_skip_conflicts_books_the_free_ones(world, tomorrow_9):
    booking_request(
        requester=world.outsider, instrument=world.instrument, start=tomorrow_9 + 2 * W, end=tomorrow_9 + 2 * W + H
    )
    result = booking_series_request(
        requester=world.researcher,
        instrument=world.instrument,
        start=tomorrow_9,
        end=tomorrow_9 + H,
        count=3,
        skip_conflicts=True,
    )
    assert [b.start for b in result.bookings] == [tomorrow_9, tomorrow_9 + W]
    assert [s["occurrence"] for s in result.skipped] == [3]


def test_skip_conflicts_with_nothing_free_is_still_a_conflict(world, tomorrow_9):
    booking_request(requester=world.outsider, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H)
    with pytest.raises(Conflict):
        booking_series_request(
            requester=world.researcher,
            instrument=world.instrument,
            start=tomorrow_9,
            end=tomorrow_9 + H,
            count=1,
            skip_conflicts=True,
        )
    assert not BookingSeries.objects.exists()


def test_occurrences_are_cancelled_and_moved_alone(world, tomorrow_9):
    result = booking_series_request(
        requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H, count=3
    )
    first, second, third = result.bookings
    booking_cancel(actor=world.researcher, booking_id=second.pk)
    booking_move(actor=world.researcher, booking_id=third.pk, start=third.start + 2 * H, end=third.end + 2 * H)
    statuses = dict(Booking.objects.filter(series=result.series).values_list("pk", "status"))
    assert statuses == {first.pk: "approved", second.pk: "cancelled", third.pk: "approved"}


@pytest.mark.parametrize("count", [0, 53, "3", True])
def test_series_count_is_bounded(world, tomorrow_9, count):
    with pytest.raises(ValidationError, match="1 to 52"):
        booking_series_request(
            requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H, count=count
        )


def test_series_over_the_future_limit_reports_the_rule(world, tomorrow_9):
    world.instrument.max_future_bookings = 2
    world.instrument.save()
    with pytest.raises(Conflict) as err:
        booking_series_request(
            requester=world.researcher, instrument=world.instrument, start=tomorrow_9, end=tomorrow_9 + H, count=3
        )
    (problem,) = err.value.extra["occurrences"]
    assert problem["occurrence"] == 3 and "Maximum future bookings" in problem["detail"]


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    count=st.integers(1, 8),
    interval=st.integers(1, 3),
    hours=st.integers(1, 6),
    taken=st.sets(st.integers(0, 7), max_size=4),
)
def test_series_property_occurrences_and_conflicts(world, tomorrow_9, count, interval, hours, taken):
    """Whatever the shape: occurrence n starts (n-1)·interval weeks after the first at the same wall time,
    and exactly the occurrences meeting someone else's booking are reported, the rest booked."""
    times = occurrence_times(tomorrow_9, tomorrow_9 + hours * H, count, interval)
    assert len(times) == count
    for n, (s, e) in enumerate(times):
        assert s - tomorrow_9 == n * interval * W and e - s == hours * H
        assert (s.astimezone(tomorrow_9.tzinfo).hour, s.utcoffset()) == (9, tomorrow_9.utcoffset())
    with transaction.atomic():
        for n in taken:
            slot = tomorrow_9 + n * interval * W + (hours - 1) * H  # touches the last hour of occurrence n
            booking_request(requester=world.outsider, instrument=world.instrument, start=slot, end=slot + H)
        expected_bad = sorted(n + 1 for n in taken if n < count)
        try:
            result = booking_series_request(
                requester=world.researcher,
                instrument=world.instrument,
                start=tomorrow_9,
                end=tomorrow_9 + hours * H,
                count=count,
                interval_weeks=interval,
                skip_conflicts=True,
            )
        except Conflict as err:
            assert expected_bad == list(range(1, count + 1))
            assert [p["occurrence"] for p in err.extra["occurrences"]] == expected_bad
        else:
            assert [s["occurrence"] for s in result.skipped] == expected_bad
            assert len(result.bookings) == count - len(expected_bad)
            assert {b.start for b in result.bookings} == {
                times[n][0] for n in range(count) if n + 1 not in expected_bad
            }
        transaction.set_rollback(True)
