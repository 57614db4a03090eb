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
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import setup_django  # noqa: E402

BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "100000"))
INSTRUMENTS = 100
SPLIT_EVERY = 5  # every fifth booking is split 50/50 with a second institution's account


def insert_rows(model, fields: list[str], rows) -> None:
    """executemany straight to the database: bulk_create spends most of its time building model
    instances, which would make setting up 100,000 bookings slower than what is measured."""
    from django.db import connection

    qn = connection.ops.quote_name
    columns = ", ".join(qn(model._meta.get_field(f).column) for f in fields)
    sql = f"INSERT INTO {qn(model._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
    adapt = connection.ops.adapt_datetimefield_value
    batch = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append([adapt(v) if isinstance(v, dt.datetime) else v for v in row])
            if len(batch) >= 5000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def build() -> None:
    from django.db import transaction

    from billing.models import Charge, ChargeLine, RateSnapshot
    from booking.models import Booking, BookingSplit
    from facilities.models import Facility, FundingAccount, Institution, Instrument, User

    tz = dt.timezone(dt.timedelta(hours=8))
    now = dt.datetime.now(tz)
    with transaction.atomic():
        sari = Institution.objects.create(code="SARI", name="SARI", kind="institute")
        ustc = Institution.objects.create(code="USTC", name="USTC", kind="university")
        zju = Institution.objects.create(code="ZJU", name="ZJU", kind="university")
        facility = Facility.objects.create(
            code="SSRF", name="SSRF", province="shanghai", city="Shanghai", host=sari, category="light_source"
        )
        Instrument.objects.bulk_create(
            [Instrument(facility=facility, code=f"BL{i:03d}", name=f"Beamline {i}") for i in range(INSTRUMENTS)]
        )
        instrument_ids = list(Instrument.objects.order_by("id").values_list("id", flat=True))
        user = User.objects.create(username="bench")
        own = FundingAccount.objects.create(
            code="USTC-1",
            title="g",
            institution=ustc,
            principal_investigator=user,
            valid_from=dt.date(2020, 1, 1),
            valid_until=dt.date(2099, 1, 1),
        )
        other = FundingAccount.objects.create(
            code="ZJU-1",
            title="g",
            institution=zju,
            principal_investigator=user,
            valid_from=dt.date(2020, 1, 1),
            valid_until=dt.date(2099, 1, 1),
        )
        month_start = dt.datetime(2026, 10, 1, tzinfo=tz)
        per_instrument = -(-BOOKINGS // INSTRUMENTS)

        def bookings():
            for n in range(BOOKINGS):
                start = month_start + dt.timedelta(minutes=30 * (n % per_instrument))
                end = start + dt.timedelta(minutes=30)
                yield (
                    instrument_ids[n // per_instrument],
                    user.pk,
                    ustc.pk,
                    start,
                    end,
                    end,
                    "completed",
                    "",
                    "",
                    start,
                    end,
                    0,
                    now,
                    now,
                )

        insert_rows(
            Booking,
            [
                "instrument",
                "requester",
                "institution",
                "start",
                "end",
                "hold_end",
                "status",
                "purpose",
                "decision_reason",
                "actual_start",
                "actual_end",
                "sequence",
                "created_at",
                "updated_at",
            ],
            bookings(),
        )
        booking_ids = list(Booking.objects.order_by("id").values_list("id", flat=True))
        instrument_of = dict(Booking.objects.values_list("id", "instrument_id"))
        half, full, rate = Decimal("50"), Decimal("100"), Decimal("333.33")
        insert_rows(
            BookingSplit,
            ["booking", "account", "percent"],
            (
                row
                for b in booking_ids
                for row in ([(b, own.pk, half), (b, other.pk, half)] if b % SPLIT_EVERY == 0 else [(b, own.pk, full)])
            ),
        )
        insert_rows(
            RateSnapshot,
            ["booking", "user_class", "hourly_rate", "currency", "published", "fixed_at"],
            ((b, "external_academic", rate, "CNY", True, now) for b in booking_ids),
        )
        fee, zero = Decimal("166.67"), Decimal("0")
        insert_rows(
            Charge,
            [
                "booking",
                "kind",
                "period",
                "instrument",
                "facility",
                "issuer",
                "requester_institution",
                "user_class",
                "hourly_rate",
                "billing_model",
                "minutes",
                "gross",
                "subsidy_percent",
                "subsidy",
                "amount",
                "voucher_amount",
                "computed_at",
            ],
            (
                (
                    b,
                    "usage",
                    "2026-10",
                    instrument_of[b],
                    facility.pk,
                    sari.pk,
                    ustc.pk,
                    "external_academic",
                    rate,
                    "booked",
                    30,
                    fee,
                    zero,
                    zero,
                    fee,
                    zero,
                    now,
                )
                for b in booking_ids
            ),
        )
        charge_of = dict(Charge.objects.values_list("booking_id", "id"))

        def lines():
            for b in booking_ids:
                common = (charge_of[b], b, sari.pk, "2026-10", "external_academic")
                if b % SPLIT_EVERY == 0:
                    yield (*common, own.pk, ustc.pk, half, Decimal("83.34"))
                    yield (*common, other.pk, zju.pk, half, Decimal("83.33"))
                else:
                    yield (*common, own.pk, ustc.pk, full, fee)

        insert_rows(
            ChargeLine,
            ["charge", "booking", "issuer", "period", "user_class", "account", "payer", "percent", "amount"],
            lines(),
        )


def main() -> None:
    vendor = setup_django("billing")
    from billing.models import Charge, ChargeLine, Invoice
    from billing.services.invoicing import run_period

    t = time.perf_counter()
    build()
    print(
        f"database: {vendor}; bulk-created {Charge.objects.count():,} completed, charged bookings "
        f"({ChargeLine.objects.count():,} charge lines) in {time.perf_counter() - t:.1f} s"
    )

    t = time.perf_counter()
    run = run_period(period="2026-10")
    elapsed = time.perf_counter() - t
    print(
        f"invoice run 2026-10: {run.lines_added:,} lines on {run.invoices_touched} invoices in {elapsed:.2f} s "
        f"({BOOKINGS / elapsed:,.0f} bookings/s; target <= 10 s for 100,000)"
    )
    t = time.perf_counter()
    again = run_period(period="2026-10")
    print(f"second run of 2026-10: {again.lines_added} lines added, {time.perf_counter() - t:.2f} s")

    invoice = Invoice.objects.order_by("-total").first()
    # The export runs in a fresh process, so its peak memory is the export's and not the data build's.
    import subprocess

    env = dict(os.environ, BENCH_EXPORT_INVOICE=str(invoice.pk))
    if vendor == "sqlite":
        from django.conf import settings

        env["SANJIAO_VAR_DIR"] = str(settings.VAR_DIR)
    subprocess.run([sys.executable, __file__], env=env, check=True)


def export_only(invoice_id: int) -> None:
    os.environ.pop("REDIS_URL", None)
    if os.environ.get("BENCH_DATABASE_URL"):
        os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from billing.exports.documents import invoice_export
    from billing.models import Invoice

    invoice = Invoice.objects.select_related("issuer", "payer").get(pk=invoice_id)
    lines = invoice.lines.count()

    def rss_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    baseline = rss_mb()
    t = time.perf_counter()
    size = rows = 0
    checkpoints = []
    for piece in invoice_export(invoice, "csv").streaming_content:
        size += len(piece)
        rows += 1
        if rows % 25000 == 0:
            checkpoints.append(f"{rows // 1000}k rows: {rss_mb():.0f} MB")
    elapsed = time.perf_counter() - t
    print(
        f"CSV export of {invoice.payer.code}'s invoice: {lines:,} lines, {rows - 1:,} data rows, {size / 1e6:.1f} MB "
        f"in {elapsed:.1f} s; process peak RSS {baseline:.0f} MB before the export (Django loaded), "
        f"{rss_mb():.0f} MB after (+{rss_mb() - baseline:.0f} MB); along the way: {'; '.join(checkpoints) or '-'}"
    )
    tracemalloc.start()
    for _ in invoice_export(invoice, "csv").streaming_content:
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak Python allocations during a second export: {peak / 1e6:.1f} MB (target: flat, under 100 MB)")


if __name__ == "__main__":
    if os.environ.get("BENCH_EXPORT_INVOICE"):
        export_only(int(os.environ["BENCH_EXPORT_INVOICE"]))
    else:
        main()
