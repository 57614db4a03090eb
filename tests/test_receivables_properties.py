"""Property tests of statement matching: whatever the payments, references and overlapping statements,
no payment is imported or applied twice, no payment is applied for more than it brought, and every
balance adds up to the fen."""

import csv
import io
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from billing.models import BankPayment, Invoice, PaymentMatch
from billing.payment_reference import payment_reference
from billing.receivables import balance_of
from billing.services.payments import payment_assign, statement_import
from common.errors import Conflict

from .factories.receivables import bank_account, finance_of, issued_invoice

HEADER = ["交易日期", "摘要", "对方户名", "对方账号", "借方发生额", "贷方发生额", "余额", "用途"]
fen = st.integers(min_value=1, max_value=2_000_000)
payment = st.tuples(
    st.integers(0, 5),  # which invoice it means
    st.sampled_from(["reference", "number", "bad_reference", "nothing", "two_references"]),
    fen,  # amount in fen
    st.booleans(),  # whether the payer's name is the invoice payer's
)


def _csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("gbk")


def _memo(kind, invoice, other) -> str:
    ref = payment_reference(invoice)
    return {
        "reference": f"货款 {ref}",
        "number": f"发票 {invoice.number}",
        "bad_reference": f"{ref[:-1]}{(int(ref[-1]) + 1) % 10}",
        "nothing": "测试费",
        "two_references": f"{ref} {payment_reference(other)}",
    }[kind]


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    totals=st.lists(fen, min_size=1, max_size=6),
    payments=st.lists(payment, min_size=1, max_size=12),
    cuts=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=4),
    assigns=st.lists(st.tuples(st.integers(0, 11), st.integers(0, 5), st.integers(1, 3_000_000)), max_size=6),
)
def test_matching_never_applies_a_payment_twice_and_balances_add_up(world, totals, payments, cuts, assigns):
    with transaction.atomic():
        world.ustc.name_zh = "中国科学技术大学"
        world.ustc.save(update_fields=["name_zh"])
        bank_account(world.sari)
        sari_fin = finance_of(world.sari, "sari.fin")
        invoices = [
            issued_invoice(issuer=world.sari, payer=world.ustc, total=Decimal(t) / 100, number=f"SARI-2026-{i + 1:04d}")
            for i, t in enumerate(totals)
        ]
        rows, running = [], 0
        for day, (which, kind, amount, named) in enumerate(payments):
            inv = invoices[which % len(invoices)]
            other = invoices[(which + 1) % len(invoices)]
            running += amount
            rows.append(
                [
                    f"2026-11-{day % 28 + 1:02d}",
                    "汇入",
                    "中国科学技术大学" if named else "某公司",
                    "1302",
                    "",
                    f"{Decimal(amount) / 100:,.2f}",
                    f"{Decimal(running) / 100:.2f}",
                    _memo(kind, inv, other),
                ]
            )
        # Overlapping statements, imported in any order, then the whole month once more.
        for a, b in [*cuts, (0, len(rows))]:
            part = rows[min(a, b) : max(a, b)]
            if part:
                statement_import(actor=sari_fin, filename="s.csv", content=_csv(part))
        assert BankPayment.objects.count() == len(rows)
        ids = list(BankPayment.objects.order_by("id").values_list("pk", flat=True))
        for which_payment, which_invoice, cents in assigns:
            try:
                payment_assign(
                    actor=sari_fin,
                    payment_id=ids[which_payment % len(ids)],
                    invoice_id=invoices[which_invoice % len(invoices)].pk,
                    amount=Decimal(cents) / 100,
                )
            except (ValidationError, Conflict):
                pass  # more than is left, or nothing left: refused, and nothing changed
        for p in BankPayment.objects.prefetch_related("matches"):
            applied = sum((m.amount for m in p.matches.all()), Decimal("0"))
            assert applied == p.applied <= p.amount
            assert sum(1 for m in p.matches.all() if m.method != "manual") <= 1
            assert p.status == ("applied" if applied == p.amount else "partly_applied" if applied else "unmatched")
        received_total = Decimal("0")
        for inv in Invoice.objects.filter(pk__in=[i.pk for i in invoices]):
            b = balance_of(inv)
            received = PaymentMatch.objects.filter(invoice=inv).aggregate(s=Sum("amount"))["s"] or Decimal("0")
            assert b.received == received
            assert b.balance == inv.total - received
            assert b.balance == b.balance.quantize(Decimal("0.01"))
            assert (inv.status == "paid") == (b.balance <= 0)
            received_total += received
        assert received_total == BankPayment.objects.aggregate(s=Sum("applied"))["s"]
        transaction.set_rollback(True)


@given(fen_amount=st.integers(min_value=1, max_value=10**14 - 1), style=st.sampled_from(["plain", "comma", "yuan"]))
def test_statement_amounts_read_back_to_the_fen(fen_amount, style):
    from billing.bank_statements import parse_amount

    value = Decimal(fen_amount) / 100
    text = {"plain": f"{value:.2f}", "comma": f"{value:,.2f}", "yuan": f"¥{value:,.2f}"}[style]
    assert parse_amount(text) == value
