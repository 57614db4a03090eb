"""The rows every export format shares, read in chunks so a large invoice never sits in memory whole."""

from collections.abc import Iterator

from common.time import local_tz

from ..models import Invoice, InvoiceLine

CHUNK = 2000

INVOICE_COLUMNS = [
    ("invoice", "Invoice", "发票号"),
    ("period", "Period", "账期"),
    ("issuer", "Issuer", "开票方"),
    ("payer", "Payer", "付款方"),
    ("booking", "Booking", "预约号"),
    ("date", "Date", "日期"),
    ("instrument", "Instrument", "仪器"),
    ("user_class", "User class", "用户类别"),
    ("account", "Account", "经费账户"),
    ("voucher", "Voucher", "创新券"),
    ("percent", "Percent", "比例（%）"),
    ("amount", "Amount (CNY)", "金额（元）"),
]

LEDGER_COLUMNS = [
    ("direction", "Direction", "方向"),
    ("invoice", "Invoice", "发票号"),
    ("kind", "Kind", "类型"),
    ("status", "Status", "状态"),
    ("period", "Period", "账期"),
    ("issuer", "Issuer", "开票方"),
    ("payer", "Payer", "付款方"),
    ("booking", "Booking", "预约号"),
    ("account", "Account", "经费账户"),
    ("voucher", "Voucher", "创新券"),
    ("percent", "Percent", "比例（%）"),
    ("amount", "Amount (CNY)", "金额（元）"),
]

LINE_FIELDS = (
    "booking_id",
    "booking__start",
    "charge_line__charge__instrument__code",
    "charge_line__user_class",
    "account__code",
    "charge_line__voucher__code",
    "percent",
    "amount",
)


def invoice_label(invoice: Invoice) -> str:
    return invoice.number or f"DRAFT-{invoice.pk}"


def invoice_rows(invoice: Invoice) -> Iterator[list]:
    label, issuer, payer = invoice_label(invoice), invoice.issuer.code, invoice.payer.code
    qs = InvoiceLine.objects.filter(invoice=invoice).order_by("booking_id", "id").values_list(*LINE_FIELDS)
    tz = local_tz()
    for booking_id, start, instrument, user_class, account, voucher, percent, amount in qs.iterator(chunk_size=CHUNK):
        yield [
            label,
            invoice.period,
            issuer,
            payer,
            booking_id,
            start.astimezone(tz).date().isoformat(),
            instrument,
            user_class,
            account or "",
            voucher or "",
            percent,
            amount,
        ]


def ledger_rows(lines, institution_id: int) -> Iterator[list]:
    qs = lines.values_list(
        "invoice__issuer_id",
        "invoice__number",
        "invoice_id",
        "invoice__kind",
        "invoice__status",
        "invoice__period",
        "invoice__issuer__code",
        "invoice__payer__code",
        "booking_id",
        "account__code",
        "charge_line__voucher__code",
        "percent",
        "amount",
    )
    for (
        issuer_id,
        number,
        invoice_id,
        kind,
        status,
        period,
        issuer,
        payer,
        booking,
        account,
        voucher,
        percent,
        amount,
    ) in qs.iterator(chunk_size=CHUNK):
        yield [
            "receivable" if issuer_id == institution_id else "payable",
            number or f"DRAFT-{invoice_id}",
            kind,
            status,
            period,
            issuer,
            payer,
            booking,
            account or "",
            voucher or "",
            percent,
            amount,
        ]
