"""Billing at scale: an invoice run over 100,000 completed bookings, and the peak memory of a CSV export
of an invoice with 100,000 lines. Not part of the test suite; run it and compare the figures it prints
with benchmarks/README.md.

    .venv/bin/python benchmarks/billing.py                       # a temporary SQLite file
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/sanjiao_bench_billing .venv/bin/python benchmarks/billing.py

The PostgreSQL database is created when missing and emptied (flushed) before the run. The data are
bulk-created directly (bookings, their splits, rate snapshots, charges and charge lines), so what is
timed is the run itself: collecting the month's unbilled charge lines and writing the invoices.
"""

import datetime as dt
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "100000"))
INSTRUMENTS = 100
SPLIT_EVERY = 5  # every fifth booking is split 50/50 with a second institution's account


def setup_django() -> str:
    url = os.environ.get("BENCH_DATABASE_URL")
    os.environ.pop("REDIS_URL", None)
    if url:
        os.environ["DATABASE_URL"] = url
        import psycopg

        base, name = url.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
                conn.execute(f'create database "{name}"')
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["SANJIAO_VAR_DIR"] = tempfile.mkdtemp(prefix="sanjiao-bench-billing-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if url:
        call_command("flush", interactive=False, verbosity=0)
    from django.db import connection

    return connection.vendor


def build() -> None:
    from django.db import transaction

    from billing.models import Charge, ChargeLine, RateSnapshot
    from booking.models import Booking, BookingSplit
    from facilities.models import Facility, FundingAccount, Institution, Instrument, User

    tz = dt.timezone(dt.timedelta(hours=8))
    with transaction.atomic():
        sari = Institution.objects.create(code="SARI", name="SARI", kind="institute")
        ustc = Institution.objects.create(code="USTC", name="USTC", kind="university")
        zju = Institution.objects.create(code="ZJU", name="ZJU", kind="university")
        facility = Facility.objects.create(code="SSRF", name="SSRF", province="shanghai", city="Shanghai", host=sari, category="light_source")
        instruments = Instrument.objects.bulk_create(
            [Instrument(facility=facility, code=f"BL{i:03d}", name=f"Beamline {i}") for i in range(INSTRUMENTS)]
        )
        user = User.objects.create(username="bench")
        own = FundingAccount.objects.create(code="USTC-1", title="g", institution=ustc, principal_investigator=user,
                                            valid_from=dt.date(2020, 1, 1), valid_until=dt.date(2099, 1, 1))
        other = FundingAccount.objects.create(code="ZJU-1", title="g", institution=zju, principal_investigator=user,
                                              valid_from=dt.date(2020, 1, 1), valid_until=dt.date(2099, 1, 1))
    month_start = dt.datetime(2026, 10, 1, tzinfo=tz)
    per_instrument = -(-BOOKINGS // INSTRUMENTS)
    chunk = 10000
    for offset in range(0, BOOKINGS, chunk):
        with transaction.atomic():
            bookings = []
            for n in range(offset, min(BOOKINGS, offset + chunk)):
                instrument = instruments[n // per_instrument]
                start = month_start + dt.timedelta(minutes=30 * (n % per_instrument))
                end = start + dt.timedelta(minutes=30)
                bookings.append(Booking(instrument=instrument, requester=user, institution=ustc, start=start, end=end,
                                        hold_end=end, status="completed", actual_start=start, actual_end=end))
            bookings = Booking.objects.bulk_create(bookings, batch_size=2000)
            if not bookings[0].pk:  # backends that do not return ids
                bookings = list(Booking.objects.order_by("-id")[: len(bookings)])[::-1]
            splits, snapshots, charges = [], [], []
            for b in bookings:
                split = b.pk % SPLIT_EVERY == 0
                splits.append(BookingSplit(booking=b, account=own, percent=Decimal("50") if split else Decimal("100")))
                if split:
                    splits.append(BookingSplit(booking=b, account=other, percent=Decimal("50")))
                snapshots.append(RateSnapshot(booking=b, user_class="external_academic", hourly_rate=Decimal("333.33")))
                charges.append(Charge(booking=b, kind="usage", period="2026-10", instrument_id=b.instrument_id, facility=facility,
                                      issuer=sari, requester_institution=ustc, user_class="external_academic",
                                      hourly_rate=Decimal("333.33"), billing_model="booked", minutes=30,
                                      gross=Decimal("166.67"), amount=Decimal("166.67")))
            BookingSplit.objects.bulk_create(splits, batch_size=5000)
            RateSnapshot.objects.bulk_create(snapshots, batch_size=5000)
            charges = Charge.objects.bulk_create(charges, batch_size=2000)
            if not charges[0].pk:
                charges = list(Charge.objects.order_by("-id")[: len(charges)])[::-1]
            lines = []
            for c in charges:
                common = dict(charge=c, booking_id=c.booking_id, issuer=sari, period="2026-10", user_class="external_academic")
                if c.booking_id % SPLIT_EVERY == 0:
                    lines.append(ChargeLine(account=own, payer=ustc, percent=Decimal("50"), amount=Decimal("83.34"), **common))
                    lines.append(ChargeLine(account=other, payer=zju, percent=Decimal("50"), amount=Decimal("83.33"), **common))
                else:
                    lines.append(ChargeLine(account=own, payer=ustc, percent=Decimal("100"), amount=Decimal("166.67"), **common))
            ChargeLine.objects.bulk_create(lines, batch_size=5000)


def main() -> None:
    vendor = setup_django()
    from billing.exports.documents import invoice_export
    from billing.models import Charge, ChargeLine, Invoice
    from billing.services.invoicing import run_period

    t = time.perf_counter()
    build()
    print(f"database: {vendor}; bulk-created {Charge.objects.count():,} completed, charged bookings "
          f"({ChargeLine.objects.count():,} charge lines) in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    run = run_period(period="2026-10")
    elapsed = time.perf_counter() - t
    print(f"invoice run 2026-10: {run.lines_added:,} lines on {run.invoices_touched} invoices in {elapsed:.2f} s "
          f"({BOOKINGS / elapsed:,.0f} bookings/s; target <= 10 s for 100,000)")
    t = time.perf_counter()
    again = run_period(period="2026-10")
    print(f"second run of 2026-10: {again.lines_added} lines added, {time.perf_counter() - t:.2f} s")

    invoice = Invoice.objects.select_related("issuer", "payer").order_by("-total").first()
    lines = invoice.lines.count()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    t = time.perf_counter()
    size = rows = 0
    response = invoice_export(invoice, "csv")
    for piece in response.streaming_content:
        size += len(piece)
        rows += 1
    elapsed = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"CSV export of {invoice.payer.code}'s invoice: {lines:,} lines, {rows - 1:,} rows, {size / 1e6:.1f} MB "
          f"in {elapsed:.2f} s; peak Python allocations during the export {peak / 1e6:.1f} MB "
          f"(process peak RSS {rss_before:.0f} MB before, {rss_after:.0f} MB after; target: flat, under 100 MB)")


if __name__ == "__main__":
    main()
