"""Charging follows use, per instrument: booked time, used time, the greater of the two, or used time with
a minimum; overruns beyond the booking are charged and shown; exact to the fen."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import Charge, ChargePolicy
from billing.services.fees import charged_minutes
from billing.services.invoicing import run_period
from booking.services import booking_complete, booking_request
from facilities.models import RateCard
from usage.models import Source, UsageSession

from .factories.billing import book

M = dt.timedelta(minutes=1)
TZ = dt.timezone(dt.timedelta(hours=8))
MODELS = ["booked", "actual", "greater", "used_min"]


def expected_minutes(model: str, booked: int, used: int, overrun: int, minimum: int) -> int:
    """The rule as the docs state it, written out independently of the implementation."""
    within = used - overrun
    return {
        "booked": booked + overrun,
        "actual": used,
        "greater": (booked if booked > within else within) + overrun,
        "used_min": used if used > minimum else minimum,
    }[model]


def fen_exact(rate: Decimal, minutes: int) -> Decimal:
    exact = Fraction(rate) * minutes / 60  # no rounding until the last step
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@given(
    model=st.sampled_from(MODELS),
    booked=st.integers(1, 24 * 60),
    within=st.integers(0, 24 * 60),
    overrun=st.integers(0, 600),
    minimum=st.integers(0, 600),
)
def test_charged_minutes_per_model(model, booked, within, overrun, minimum):
    used = within + overrun
    got = charged_minutes(model=model, booked=booked, used=used, overrun=overrun, minimum=minimum)
    assert got == expected_minutes(model, booked, used, overrun, minimum)
    assert got >= overrun  # an overrun is always charged
    # No recorded use: the booked time counts as used.
    assert charged_minutes(model=model, booked=booked, used=None, minimum=0) == booked


@pytest.fixture
def priced(world):
    world.instrument.booking_unit_minutes = 30
    world.instrument.max_minutes = 12 * 60
    world.instrument.min_minutes = 30
    world.instrument.save()
    RateCard.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=Decimal("317.37"))
    return world


_day = iter(range(1, 10**6))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    model=st.sampled_from(MODELS),
    booked_units=st.integers(1, 8),
    lateness=st.integers(0, 200),
    breaks=st.lists(st.integers(1, 90), min_size=1, max_size=3),
    overrun=st.integers(0, 300),
    minimum=st.integers(0, 300),
    seconds=st.integers(0, 59),
)
def test_a_completed_booking_is_charged_by_its_sessions_exactly(
    priced, model, booked_units, lateness, breaks, overrun, minimum, seconds
):
    w = priced
    ChargePolicy.objects.update_or_create(
        instrument=w.instrument, defaults={"billing_model": model, "minimum_minutes": minimum}
    )
    start = dt.datetime(2026, 1, 5, 8, 0, tzinfo=TZ) + dt.timedelta(days=next(_day) % 3000)
    booking = booking_request(
        requester=w.researcher,
        instrument=w.instrument,
        start=start,
        end=start + booked_units * 30 * M,
        now=start - dt.timedelta(days=1),
    )
    end = booking.end
    # Sessions: from `lateness` minutes after the start, in pieces with a 5-minute break between, the last
    # one running `overrun` minutes (and some seconds) past the booked end.
    t = start + min(lateness, booked_units * 30 - 1) * M
    spans = []
    for length in breaks[:-1]:
        if t + length * M >= end:
            break
        spans.append((t, t + length * M))
        t += (length + 5) * M
    last_end = end + overrun * M + dt.timedelta(seconds=seconds) if overrun else min(end, t + breaks[-1] * M)
    if last_end > t:
        spans.append((t, last_end))
    for s, e in spans:
        UsageSession.objects.create(
            instrument=w.instrument, user=w.researcher, booking=booking, start=s, end=e, last_seen=e, source=Source.QR
        )
    booking_complete(actor=None, booking_id=booking.pk, now=end + dt.timedelta(days=1))
    charge = Charge.objects.get(booking=booking)

    used_seconds = sum((e - s).total_seconds() for s, e in spans)
    over_seconds = sum(max(0.0, (e - max(s, end)).total_seconds()) for s, e in spans)
    used, over = int(used_seconds // 60), int(over_seconds // 60)
    booked = booked_units * 30
    if not spans:
        used, over = None, 0
    minutes = expected_minutes(model, booked, booked if used is None else used, over, minimum)
    assert (charge.booked_minutes, charge.used_minutes, charge.overrun_minutes) == (booked, used, over)
    assert charge.minutes == minutes and charge.billing_model == model
    assert charge.gross == fen_exact(Decimal("317.37"), minutes)
    assert sum(line.amount for line in charge.lines.all()) == charge.amount


def test_overrun_is_charged_and_shown_on_the_invoice_line(priced):
    w = priced
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
    booking = book(requester=w.researcher, instrument=w.instrument, start=start, hours=2)
    UsageSession.objects.create(
        instrument=w.instrument,
        user=w.researcher,
        booking=booking,
        start=start,
        end=booking.end + 45 * M,
        last_seen=booking.end + 45 * M,
        source=Source.AGENT,
    )
    booking_complete(actor=None, booking_id=booking.pk, now=booking.end + dt.timedelta(hours=2))
    charge = Charge.objects.get(booking=booking)
    assert (charge.billing_model, charge.minutes, charge.overrun_minutes) == ("booked", 165, 45)
    assert charge.gross == Decimal("872.77")  # 317.37 × 165 / 60 = 872.7675
    # The invoice line says what it charged for.
    run_period(period="2026-03")
    (invoice,) = w.client(w.finance).get("/api/v1/invoices/?period=2026-03").json()["results"]
    (line,) = invoice["lines"]
    assert line["charged_for"] == {
        "kind": "usage",
        "billing_model": "booked",
        "minutes": 165,
        "booked_minutes": 120,
        "used_minutes": 165,
        "overrun_minutes": 45,
    }
    page = Client()
    page.force_login(w.finance)
    html = page.get(reverse("frontend:invoice", args=[invoice["id"]])).content.decode()
    assert "Booked time: 165 minutes (incl. 45 minutes overrun)" in html, html[-3000:]


def test_a_correction_by_hand_charges_again_until_invoiced(priced):
    from usage.services import session_correct

    w = priced
    ChargePolicy.objects.create(instrument=w.instrument, billing_model="actual")
    start = dt.datetime(2026, 4, 6, 9, 0, tzinfo=TZ)
    booking = book(requester=w.researcher, instrument=w.instrument, start=start, hours=2)
    s = UsageSession.objects.create(
        instrument=w.instrument,
        user=w.researcher,
        booking=booking,
        start=start,
        end=start + 30 * M,
        last_seen=start + 30 * M,
        source=Source.QR,
    )
    booking_complete(actor=None, booking_id=booking.pk, now=booking.end + dt.timedelta(hours=1))
    assert Charge.objects.get(booking=booking).minutes == 30
    session_correct(actor=w.manager, session_id=s.pk, end=start + 90 * M, reason="forgot to stop; log says 10:30")
    charge = Charge.objects.get(booking=booking)
    assert (charge.minutes, charge.gross) == (90, fen_exact(Decimal("317.37"), 90))
    run_period(period="2026-04")
    session_correct(actor=w.manager, session_id=s.pk, end=start + 100 * M, reason="one more correction")
    assert Charge.objects.get(booking=booking).minutes == 90  # invoiced: finance issues a credit note
