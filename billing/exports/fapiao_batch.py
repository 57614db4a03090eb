"""The batch-import workbook of the tax authority's fully digital fapiao (数电票) service: one sheet of
fapiao headers (发票基本信息) and one of their items (发票明细信息), joined by the serial number
(发票流水号). Column names follow the public template as closely as is publicly known; the mapping is
documented in docs/receivables.md. Amounts include tax (是否含税 = 是): one item per invoice."""

import tempfile
from decimal import Decimal

from django.conf import settings
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from ..models import BankAccount, BuyerTaxInfo, FapiaoKind, Invoice, InvoiceKind
from ..payment_reference import payment_reference

HEADER_SHEET = "1-发票基本信息"
ITEM_SHEET = "2-发票明细信息"
HEADER_COLUMNS = [
    "发票流水号",
    "发票类型",
    "特定业务类型",
    "是否含税",
    "受票方自然人标识",
    "购买方名称",
    "购买方纳税人识别号",
    "购买方地址",
    "购买方电话",
    "购买方开户银行",
    "购买方银行账号",
    "备注",
    "销售方开户行",
    "销售方银行账号",
]
ITEM_COLUMNS = [
    "发票流水号",
    "项目名称",
    "商品和服务税收编码",
    "规格型号",
    "单位",
    "数量",
    "单价",
    "金额",
    "税率",
    "折扣金额",
]
KIND_NAMES = {FapiaoKind.NORMAL: "数电票（普通发票）", FapiaoKind.SPECIAL: "数电票（增值税专用发票）"}


def batch_rows(invoices: list[Invoice]) -> tuple[list[list], list[list]]:
    payer_ids = {inv.payer_id for inv in invoices}
    issuer_ids = {inv.issuer_id for inv in invoices}
    tax = {t.institution_id: t for t in BuyerTaxInfo.objects.filter(institution_id__in=payer_ids)}
    banks = {b.institution_id: b for b in BankAccount.objects.filter(institution_id__in=issuer_ids, active=True)}
    rate = Decimal(settings.FAPIAO_TAX_RATE)
    headers, items = [], []
    for inv in invoices:
        info = tax.get(inv.payer_id)
        bank = banks.get(inv.issuer_id)
        serial = inv.number or f"DRAFT-{inv.pk}"
        reference = payment_reference(inv)
        remark = f"账期 {inv.period}；付款参考号 {reference}"
        if inv.kind == InvoiceKind.CREDIT_NOTE and inv.credit_of is not None:
            remark += f"；冲销 {inv.credit_of.number}"
        headers.append(
            [
                serial,
                KIND_NAMES[FapiaoKind(info.fapiao_kind)] if info else KIND_NAMES[FapiaoKind.NORMAL],
                "",
                "是",
                "否",
                inv.payer.name_zh or inv.payer.name,
                info.tax_id if info else "",
                info.address if info else "",
                info.phone if info else "",
                info.bank_name if info else "",
                info.bank_account if info else "",
                remark,
                bank.bank_name if bank else "",
                bank.account_number if bank else "",
            ]
        )
        items.append(
            [
                serial,
                settings.FAPIAO_ITEM_NAME,
                settings.FAPIAO_ITEM_TAX_CODE,
                "",
                "项",
                1,
                inv.total,
                inv.total,
                rate,
                "",
            ]
        )
    return headers, items


def _money(sheet, value: Decimal):
    cell = WriteOnlyCell(sheet)
    cell.value = value  # a Decimal, stored as an exact number (the stub says float)
    cell.number_format = "0.00"
    return cell


def write_batch(invoices: list[Invoice]):
    headers, items = batch_rows(invoices)
    workbook = Workbook(write_only=True)
    for title, columns, rows in ((HEADER_SHEET, HEADER_COLUMNS, headers), (ITEM_SHEET, ITEM_COLUMNS, items)):
        sheet = workbook.create_sheet(title)
        sheet.append(columns)
        for row in rows:
            sheet.append([_money(sheet, v) if isinstance(v, Decimal) else v for v in row])
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(handle)
    handle.seek(0)
    return handle
