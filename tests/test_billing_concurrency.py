"""A voucher's balance never goes below zero, even when many bookings complete at the same moment:
real threads with their own database connections (SQLite file with IMMEDIATE transactions, or
PostgreSQL with row locks, whichever the suite runs on)."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from billing.models import Charge, ChargeLine, InvoiceLine
from billing.services.invoicing import run_period
from booking.services import booking_complete
from facilities.models import RateCard

from .factories.billing import AgencyFactory, InnovationVoucherFactory, book

D = Decimal
SEPT = dt.datetime(2026, 9, 14, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
THREADS = 8


def race(fn, args_list):
    barrier = threading.Barrier(len(args_list))
    errors: list[BaseException] = []

    def run(args):
        try:
            barrier.wait(timeout=10)
            fn(*args)
        except BaseException as exc:  # collected and re-raised in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(a,)) for a in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racing thread hung"
    return errors


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_completions_never_overdraw_a_voucher(world):
    RateCard.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=D("100.00"))
    # Each 2-hour booking is 200.00, the voucher covers 50 % of it = 100.00; 8 bookings want 800.00.
    voucher = InnovationVoucherFactory(
        agency=AgencyFactory(code="HFSTB"), holder=world.ustc, percent=D("50"), cap=D("350.00")
    )
    bookings = [
        book(requester=world.researcher, instrument=world.instrument, start=SEPT + dt.timedelta(hours=3 * i))
        for i in range(THREADS)
    ]
    errors = race(
        lambda pk: booking_complete(actor=None, booking_id=pk, now=SEPT + dt.timedelta(days=2)),
        [(b.pk,) for b in bookings],
    )
    assert not errors, errors
    voucher.refresh_from_db()
    assert voucher.balance == D("0.00")
    drawn = sum(ChargeLine.objects.filter(voucher=voucher).values_list("amount", flat=True), D(0))
    assert drawn == D("350.00")
    assert Charge.objects.count() == THREADS
    for charge in Charge.objects.prefetch_related("lines"):
        assert sum(line.amount for line in charge.lines.all()) == charge.amount == D("200.00")
    assert sorted(Charge.objects.values_list("voucher_amount", flat=True)).count(D("100.00")) == 3


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_invoice_runs_bill_every_line_exactly_once(world):
    RateCard.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=D("100.00"))
    for i in range(6):
        b = book(
            requester=world.researcher if i % 2 else world.outsider,
            instrument=world.instrument,
            start=SEPT + dt.timedelta(hours=3 * i),
        )
        booking_complete(actor=None, booking_id=b.pk, now=SEPT + dt.timedelta(days=2))
    errors = race(lambda: run_period(period="2026-09"), [() for _ in range(4)])
    assert not errors, errors
    assert InvoiceLine.objects.count() == ChargeLine.objects.count() == 6
    assert InvoiceLine.objects.values("charge_line").distinct().count() == 6
    from billing.models import Invoice

    assert Invoice.objects.filter(status="draft").count() == 2
    assert connection.vendor in ("sqlite", "postgresql")
