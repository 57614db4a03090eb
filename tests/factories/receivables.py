"""Issued invoices, bank accounts and finance people for the receivables tests."""

import datetime as dt
from decimal import Decimal

from billing.models import BankAccount, Invoice
from facilities.models.tenants import Role

from .facilities import UserFactory, member

ISSUED = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def issued_invoice(*, issuer, payer, total, number: str, pk: int | None = None, issued_at=ISSUED, period="2026-10"):
    return Invoice.objects.create(
        pk=pk,
        issuer=issuer,
        payer=payer,
        period=period,
        status=Invoice.Status.ISSUED,
        number=number,
        total=Decimal(total),
        issued_at=issued_at,
    )


def bank_account(institution, number: str = "1001234509000012345") -> BankAccount:
    return BankAccount.objects.create(
        institution=institution,
        bank_name="中国工商银行上海市张江支行",
        account_name=institution.name_zh or institution.name,
        account_number=number,
    )


def finance_of(institution, username: str):
    user = UserFactory(username=username)
    member(user, institution, Role.FINANCE)
    return user


def golden_world(world):
    """SARI issues five October invoices (ids 7000001…7000005) to USTC and ZJU; SARI has one bank account."""
    for inst, zh in (
        (world.ustc, "中国科学技术大学"),
        (world.zju, "浙江大学"),
        (world.sari, "中国科学院上海高等研究院"),
    ):
        inst.name_zh = zh
        inst.save(update_fields=["name_zh"])
    account = bank_account(world.sari)
    invoices = [
        issued_invoice(issuer=world.sari, payer=world.ustc, total="1200.00", number="SARI-2026-0001", pk=7000001),
        issued_invoice(issuer=world.sari, payer=world.ustc, total="800.00", number="SARI-2026-0002", pk=7000002),
        issued_invoice(issuer=world.sari, payer=world.zju, total="500.00", number="SARI-2026-0003", pk=7000003),
        issued_invoice(issuer=world.sari, payer=world.zju, total="345.60", number="SARI-2026-0004", pk=7000004),
        issued_invoice(issuer=world.sari, payer=world.ustc, total="99.00", number="SARI-2026-0005", pk=7000005),
    ]
    return account, invoices
