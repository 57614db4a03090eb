"""Two finance clerks import overlapping statements of the same account at the same moment: real threads
with their own database connections (PostgreSQL row locks when the suite runs there, SQLite's IMMEDIATE
transactions otherwise). Every payment is imported once and applied once."""

import csv
import io
import threading
from decimal import Decimal

import pytest
from django.db import connections
from django.db.models import Sum

from billing.models import BankPayment, Invoice, PaymentMatch
from billing.payment_reference import payment_reference
from billing.receivables import balance_of
from billing.services.payments import payment_assign, statement_import

from .factories.receivables import bank_account, finance_of, issued_invoice

THREADS = 4


def _race(fn, args_list):
    barrier = threading.Barrier(len(args_list))
    errors: list[BaseException] = []
    results: list = []

    def run(args):
        try:
            barrier.wait(timeout=10)
            results.append(fn(*args))
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(a,)) for a in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a racing thread hung"
    return results, errors


def _statement(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["交易日期", "对方户名", "贷方发生额", "余额", "用途"])
    writer.writerows(rows)
    return out.getvalue().encode("gbk")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_imports_never_double_apply(world):
    bank_account(world.sari)
    clerks = [finance_of(world.sari, f"sari.fin{i}") for i in range(THREADS)]
    invoices = [
        issued_invoice(issuer=world.sari, payer=world.ustc, total="100.00", number=f"SARI-2026-{i + 1:04d}")
        for i in range(8)
    ]
    # Each invoice is paid in two halves; each statement covers an overlapping window of the month.
    rows, balance = [], Decimal("0")
    for day, inv in enumerate(invoices * 2):
        balance += Decimal("50.00")
        rows.append([f"2026-11-{day + 1:02d}", "中国科学技术大学", "50.00", f"{balance:.2f}", payment_reference(inv)])
    windows = [rows[0:10], rows[4:14], rows[6:16], rows[0:16]]
    results, errors = _race(
        lambda clerk, data: statement_import(actor=clerk, filename="s.csv", content=data),
        [(clerks[i], _statement(windows[i])) for i in range(THREADS)],
    )
    assert not errors, errors
    assert BankPayment.objects.count() == len(rows)
    assert sum(s.payments_new for s in results) == len(rows)
    assert PaymentMatch.objects.count() == len(rows)
    for inv in Invoice.objects.all():
        b = balance_of(inv)
        assert (b.received, b.balance, inv.status) == (Decimal("100.00"), Decimal("0.00"), "paid")
    assert BankPayment.objects.aggregate(s=Sum("applied"))["s"] == Decimal("800.00")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_assignments_of_one_payment_never_apply_more_than_it_brought(world):
    bank_account(world.sari)
    clerks = [finance_of(world.sari, f"sari.fin{i}") for i in range(THREADS)]
    invoices = [
        issued_invoice(issuer=world.sari, payer=world.ustc, total="100.00", number=f"SARI-2026-{i + 1:04d}")
        for i in range(THREADS)
    ]
    statement_import(
        actor=clerks[0], filename="s.csv", content=_statement([["2026-11-02", "某公司", "150.00", "150.00", "货款"]])
    )
    payment = BankPayment.objects.get()
    _, errors = _race(
        lambda clerk, inv: payment_assign(actor=clerk, payment_id=payment.pk, invoice_id=inv.pk, amount=Decimal("60")),
        [(clerks[i], invoices[i]) for i in range(THREADS)],
    )
    payment.refresh_from_db()
    assert payment.applied == Decimal("120.00") and PaymentMatch.objects.count() == 2
    assert len(errors) == THREADS - 2 and all("at most 30.00" in str(e) or "at most 90.00" in str(e) for e in errors)
