"""Receivables per payer as an XLSX workbook, with the ageing buckets."""

from ..receivables import BUCKETS, PayerRow
from .xlsx_export import write_xlsx

COLUMNS = [
    ("payer", "Payer", "付款方"),
    ("name", "Name", "名称"),
    ("invoices", "Invoices", "发票数"),
    ("open", "Open", "未结清"),
    ("invoiced", "Invoiced (CNY)", "开票金额（元）"),
    ("credited", "Credited (CNY)", "红冲金额（元）"),
    ("received", "Received (CNY)", "已收金额（元）"),
    ("outstanding", "Outstanding (CNY)", "应收余额（元）"),
    *[(f"age_{b}", f"{b} days", f"{b} 天") for b in BUCKETS],
]


def _row(r: PayerRow) -> list:
    return [
        r.payer_code,
        r.payer_name,
        r.invoices,
        r.open_invoices,
        r.invoiced,
        r.credited,
        r.received,
        r.outstanding,
        *[r.buckets[b] for b in BUCKETS],
    ]


def write_receivables(*, title: str, institutions: str, as_of: str, rows: list[PayerRow], total: PayerRow):
    return write_xlsx(
        title=title,
        preamble=[[title], ["Institution 单位", institutions], ["As of 截至", as_of]],
        columns=COLUMNS,
        rows=[_row(r) for r in rows],
        footer=[["Total 合计", "", *_row(total)[2:]]],
    )
