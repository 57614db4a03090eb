"""Demo receivables: a bank account for every institution that issues invoices, fapiao details of the
payers, and one bank statement per issuer that pays some issued invoices in full, one in part, and
brings one transfer nobody can match, so the console's balances, ageing and "payments to assign"
have content. Account numbers and tax ids are illustrative (valid check characters, no real entity).
Idempotent: the statement's rows are dated from the invoices, so a second run imports nothing new."""

import csv
import datetime as dt
import hashlib
import io
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from stdnum.cn import uscc

from common.time import local_tz
from facilities.models import Institution

from .models import BankAccount, BuyerTaxInfo, Invoice, InvoiceKind, InvoiceStatus
from .payment_reference import payment_reference
from .services.payments import statement_import

BANKS = ["中国工商银行", "中国银行", "中国建设银行", "交通银行"]


def _digits(seed: str, n: int) -> str:
    return str(int(hashlib.sha256(seed.encode()).hexdigest(), 16))[:n]


def demo_tax_id(code: str) -> str:
    body = "12" + "310000" + _digits("tax" + code, 9)
    return body + uscc.calc_check_digit(body)


def _statement(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["交易日期", "摘要", "对方户名", "对方账号", "借方发生额", "贷方发生额", "余额", "用途"])
    writer.writerows(rows)
    return out.getvalue().encode("gbk")


def load_demo_receivables() -> dict[str, int]:
    counts = {"bank_accounts": 0, "tax_profiles": 0, "payments_new": 0, "payments_matched": 0}
    issuers = Institution.objects.filter(
        pk__in=Invoice.objects.filter(kind=InvoiceKind.INVOICE).values("issuer_id")
    ).order_by("code")
    with transaction.atomic():
        for i, inst in enumerate(issuers):
            _, created = BankAccount.objects.get_or_create(
                institution=inst,
                active=True,
                defaults={
                    "bank_name": f"{BANKS[i % len(BANKS)]}（示例 illustrative）",
                    "account_name": inst.name_zh or inst.name,
                    "account_number": "6222" + _digits("account" + inst.code, 15),
                },
            )
            counts["bank_accounts"] += created
        for inst in Institution.objects.filter(pk__in=Invoice.objects.values("payer_id")):
            _, created = BuyerTaxInfo.objects.get_or_create(
                institution=inst, defaults={"tax_id": demo_tax_id(inst.code)}
            )
            counts["tax_profiles"] += created
    for inst in issuers:
        account = BankAccount.objects.get(institution=inst, active=True)
        open_ones = list(
            Invoice.objects.filter(issuer=inst, kind=InvoiceKind.INVOICE)
            .filter(Q(status=InvoiceStatus.ISSUED) | Q(payment_matches__isnull=False))  # the same ones next time
            .distinct()
            .select_related("payer")
            .order_by("issued_at", "id")[:3]
        )
        if not open_ones:
            continue
        rows, balance = [], Decimal("0")
        for k, inv in enumerate(open_ones):
            issued = timezone.localtime(inv.issued_at, local_tz()).date() if inv.issued_at else dt.date(2026, 1, 1)
            paid = inv.total if k != 1 else (inv.total / 2).quantize(Decimal("0.01"))
            balance += paid
            when = issued + dt.timedelta(days=10 + k)
            payer = inv.payer.name_zh or inv.payer.name
            rows.append(
                [when.isoformat(), "汇入", payer, "", "", f"{paid:.2f}", f"{balance:.2f}", payment_reference(inv)]
            )
        balance += Decimal("1234.00")
        rows.append(
            [when.isoformat(), "汇入", "某某科技有限公司（示例）", "", "", "1234.00", f"{balance:.2f}", "测试费"]
        )
        statement = statement_import(
            actor=None, filename=f"demo-{inst.code}.csv", content=_statement(rows), bank_account_id=account.pk
        )
        counts["payments_new"] += statement.payments_new
        counts["payments_matched"] += statement.payments_matched
    return counts
