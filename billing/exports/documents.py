"""Assembling an invoice or a ledger into each file format."""

from decimal import Decimal

from common.time import local_tz
from facilities.models import Institution

from ..models import BankAccount, Fapiao, Invoice, InvoiceKind, InvoiceLine
from ..money import ZERO
from ..payment_reference import payment_reference
from .csv_export import csv_response
from .pdf_export import Column, pdf_response, write_pdf, yuan
from .rows import INVOICE_COLUMNS, LEDGER_COLUMNS, invoice_label, invoice_rows, ledger_rows
from .xlsx_export import write_xlsx, xlsx_response

FORMATS = ("csv", "xlsx", "pdf")
TAX_FIELDS = ["Tax rate 税率", "Tax amount 税额", "Fapiao number 发票号码", "Issuer tax ID 开票方纳税人识别号"]


def party(inst: Institution) -> str:
    return f"{inst.name} {inst.name_zh}".strip() + f" ({inst.code})"


def _title(invoice: Invoice) -> str:
    kind = "Credit note 红字发票" if invoice.kind == InvoiceKind.CREDIT_NOTE else "Invoice 发票"
    return f"{kind} {invoice_label(invoice)}"


def _parties(invoice: Invoice) -> list[tuple[str, str]]:
    out = [
        ("Issuer 开票方", party(invoice.issuer)),
        ("Payer 付款方", party(invoice.payer)),
        ("Period 账期", invoice.period),
        ("Status 状态", invoice.get_status_display()),
        ("Currency 币种", "CNY 人民币"),
    ]
    if invoice.credit_of is not None:
        out.append(("Corrects 冲销", invoice_label(invoice.credit_of)))
    return out + payment_details(invoice)


def payment_details(invoice: Invoice) -> list[tuple[str, str]]:
    """Where to pay an issued invoice and the reference to quote, so a bank transfer can be matched to it."""
    if invoice.kind != InvoiceKind.INVOICE or invoice.status not in ("issued", "paid"):
        return []
    out = [("Payment reference 付款参考号 (quote it in the transfer 请在转账附言中注明)", payment_reference(invoice))]
    bank = BankAccount.objects.filter(institution_id=invoice.issuer_id, active=True).first()
    if bank is not None:
        out += [
            ("Bank 开户行", bank.bank_name),
            ("Account name 户名", bank.account_name),
            ("Account number 账号", bank.account_number),
        ]
    return out


def _tax_values(invoice: Invoice) -> list[list[str]]:
    """The tax fields, filled in from the recorded fapiao when there is one."""
    fapiao = Fapiao.objects.filter(invoice=invoice).first()
    if fapiao is None:
        return [[t, ""] for t in TAX_FIELDS]
    values = [f"{fapiao.tax_rate:.2f}", f"{fapiao.tax_amount:.2f}", fapiao.number, ""]
    return [[t, v] for t, v in zip(TAX_FIELDS, values, strict=True)]


def invoice_export(invoice: Invoice, fmt: str):
    filename = f"{invoice_label(invoice)}.{fmt}"
    if fmt == "csv":
        return csv_response(filename, [c[0] for c in INVOICE_COLUMNS], invoice_rows(invoice))
    if fmt == "xlsx":
        handle = write_xlsx(
            title=invoice_label(invoice),
            preamble=[
                [_title(invoice)],
                *[[label, value] for label, value in _parties(invoice)],
                *_tax_values(invoice),
            ],
            columns=INVOICE_COLUMNS,
            rows=invoice_rows(invoice),
            footer=[["Total 合计 (CNY)", invoice.total]],
        )
        return xlsx_response(filename, handle)
    return pdf_response(filename, invoice_pdf(invoice))


INVOICE_PDF_COLUMNS = [
    Column("Booking 预约", 40),
    Column("Date 日期", 80),
    Column("Instrument 仪器", 130, width=62),
    Column("Account / voucher 账户 / 创新券", 195, width=98),
    Column("Hours × rate 时数 × 单价", 296, width=172),
    Column("Percent 比例", 472),
    Column("Amount 金额（元）", 555, right=True),
]
PDF_NOTES = [
    "Each line: hours × hourly rate (yuan) − subsidy − voucher, × the payer's percent; a voucher's line is its part.",
    "每行：时数 × 单价（元/时）− 补贴 − 创新券，× 付款比例；创新券行为创新券承担的部分。",
]


def hours_times_rate(minutes: int, rate: Decimal, subsidy_percent: Decimal, voucher_amount: Decimal = ZERO) -> str:
    """What a line's amount is computed from, so the reader can check it:
    "2.50 h × 1,200.00 − 20% subsidy − voucher 300.00"."""
    text = f"{Decimal(minutes) / 60:.2f} h × {yuan(rate)}"
    if subsidy_percent:
        text += f" − {subsidy_percent.normalize():f}% subsidy"
    if voucher_amount:
        text += f" − voucher {yuan(voucher_amount)}"
    return text


def _invoice_pdf_rows(invoice: Invoice):
    tz = local_tz()
    qs = (
        InvoiceLine.objects.filter(invoice=invoice)
        .order_by("booking_id", "id")
        .values_list(
            "booking_id",
            "booking__start",
            "charge_line__charge__instrument__code",
            "account__code",
            "charge_line__voucher__code",
            "charge_line__charge__minutes",
            "charge_line__charge__hourly_rate",
            "charge_line__charge__subsidy_percent",
            "charge_line__charge__voucher_amount",
            "percent",
            "amount",
        )
    )
    for row in qs.iterator(chunk_size=2000):
        booking_id, start, instrument, account, voucher, minutes, rate, subsidy, voucher_amount, percent, amount = row
        yield [
            booking_id,
            start.astimezone(tz).date().isoformat(),
            instrument,
            account or (f"voucher 创新券 {voucher}" if voucher else ""),
            hours_times_rate(minutes, rate, subsidy, voucher_amount),
            f"{percent}%",
            yuan(amount),
        ]


def invoice_pdf(invoice: Invoice):
    """The invoice as a PDF in a temporary file (also a part of a voucher claim's evidence pack)."""
    return write_pdf(
        title=_title(invoice),
        parties=_parties(invoice),
        tax_fields=TAX_FIELDS,
        rows=_invoice_pdf_rows(invoice),
        totals=[("Total 合计（元）", yuan(invoice.total))],
        columns=INVOICE_PDF_COLUMNS,
        notes=PDF_NOTES,
    )


def ledger_export(*, institution: Institution, period: str, lines, fmt: str):
    filename = f"ledger-{institution.code}-{period}.{fmt}"
    if fmt == "csv":
        return csv_response(filename, [c[0] for c in LEDGER_COLUMNS], ledger_rows(lines, institution.pk))
    sums = {"receivable": ZERO, "payable": ZERO}

    def counted():
        for row in ledger_rows(lines, institution.pk):
            sums[row[0]] += Decimal(row[-1])
            yield row

    rows = counted()

    def footer_rows():
        return [["Receivable 应收 (CNY)", sums["receivable"]], ["Payable 应付 (CNY)", sums["payable"]]]

    class _LazyFooter(list):
        # The totals are known only once the rows have been written.
        def __iter__(self):
            return iter(footer_rows())

    handle = write_xlsx(
        title=f"Ledger {period}",
        preamble=[[f"Ledger 台账 {period}"], ["Institution 单位", party(institution)]],
        columns=LEDGER_COLUMNS,
        rows=rows,
        footer=_LazyFooter(),
    )
    return xlsx_response(filename, handle)
