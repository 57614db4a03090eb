"""Files of internal settlement and of vouchers: the journal of internal transfers (CSV/XLSX), the
evidence pack of a 通用 claim (ZIP of PDFs and a CSV), and voucher redemptions per issuer and province (XLSX)."""

import csv
import io
import tempfile
import zipfile
from collections.abc import Iterable, Iterator

from django.db.models import Count, QuerySet, Sum
from django.http import FileResponse
from django.utils import timezone

from common.time import local_tz
from facilities.models import Institution

from ..models import InternalTransfer, InvoiceLine, VoucherRedemption
from ..money import ZERO
from .csv_export import csv_response
from .documents import invoice_pdf, party
from .pdf_export import write_pdf
from .rows import CHUNK, invoice_label
from .xlsx_export import write_xlsx, xlsx_response

JOURNAL_COLUMNS = [
    ("date", "Date", "日期"),
    ("debit_account", "Debit account", "借方科目"),
    ("credit_account", "Credit account", "贷方科目"),
    ("amount", "Amount (CNY)", "金额（元）"),
    ("reference", "Reference", "凭证号"),
    ("booking", "Booking", "预约号"),
]

REDEMPTION_COLUMNS = [
    ("issuer", "Issuing authority", "发券机构"),
    ("province", "Facility province", "设施所在省市"),
    ("mode", "Mode", "模式"),
    ("count", "Redemptions", "笔数"),
    ("amount", "Amount (CNY)", "金额（元）"),
]


def journal_rows(transfers: QuerySet[InternalTransfer]) -> Iterator[list]:
    for t in transfers.iterator(chunk_size=CHUNK):
        yield [t.date.isoformat(), t.debit_account.code, t.credit_account, t.amount, t.reference, t.booking_id]


def journal_export(*, institution: Institution, period: str, transfers: QuerySet[InternalTransfer], fmt: str):
    filename = f"journal-{institution.code}-{period}.{fmt}"
    if fmt == "csv":
        return csv_response(filename, [c[0] for c in JOURNAL_COLUMNS], journal_rows(transfers))
    total = transfers.aggregate(s=Sum("amount"))["s"] or ZERO
    handle = write_xlsx(
        title=f"Journal {period}",
        preamble=[[f"Internal settlement journal 内部结算凭证 {period}"], ["Institution 单位", party(institution)]],
        columns=JOURNAL_COLUMNS,
        rows=journal_rows(transfers),
        footer=[["Total 合计 (CNY)", total]],
    )
    return xlsx_response(filename, handle)


def redemption_summary(redemptions: QuerySet[VoucherRedemption]) -> list[dict]:
    """Counted redemptions (refused claims excluded) per issuing authority, facility province and mode."""
    rows = (
        redemptions.exclude(status=VoucherRedemption.Status.REFUSED)
        .values("agency__code", "agency__name_zh", "province", "mode")
        .annotate(amount=Sum("amount"), count=Count("id"))
        .order_by("agency__code", "province", "mode")
    )
    return [dict(row) for row in rows]


def redemptions_xlsx(*, year: int, redemptions: QuerySet[VoucherRedemption]):
    summary = redemption_summary(redemptions)
    total = sum((r["amount"] for r in summary), ZERO)
    rows: Iterable[list] = (
        [f"{r['agency__code']} {r['agency__name_zh']}".strip(), r["province"], r["mode"], r["count"], r["amount"]]
        for r in summary
    )
    handle = write_xlsx(
        title=f"Vouchers {year}",
        preamble=[[f"Innovation voucher redemptions 创新券兑付 {year}"]],
        columns=REDEMPTION_COLUMNS,
        rows=rows,
        footer=[["Total 合计 (CNY)", total]],
    )
    return xlsx_response(f"voucher-redemptions-{year}.xlsx", handle)


# --- the evidence pack of a 通用 claim ---------------------------------------------------------------------


def _local(moment) -> str:
    return timezone.localtime(moment, local_tz()).strftime("%Y-%m-%d %H:%M") if moment else ""


def _pdf_bytes(**kwargs) -> bytes:
    handle = write_pdf(**kwargs)
    try:
        return handle.read()
    finally:
        handle.close()


def _contract_pdf(claim: VoucherRedemption) -> bytes:
    charge, booking = claim.charge, claim.charge.booking
    scheme = claim.scheme
    parties = [
        ("Provider 服务方", party(charge.issuer)),
        ("Facility 设施", f"{charge.facility.name} {charge.facility.name_zh} ({charge.facility.code})"),
        ("Client 委托方", party(claim.holder)),
        ("Voucher 创新券", claim.voucher.code),
        ("Issuing authority 发券机构", party(claim.agency)),
        ("Scheme 政策", f"{scheme.code} {scheme.name_zh or scheme.name}" if scheme else "—"),
        ("Mode 模式", "通用 (company pays in full, reimbursed by the authority)"),
        ("Booked 预约时段", f"{_local(booking.start)} – {_local(booking.end)}"),
        ("Rate fixed at booking 预约时价格", f"{charge.hourly_rate:.2f} CNY/h ({charge.user_class})"),
    ]
    return _pdf_bytes(
        title=f"Service contract 服务合同 · booking 预约 #{booking.pk}",
        parties=parties,
        tax_fields=["Signature of the provider 服务方签章", "Signature of the client 委托方签章"],
        rows=[],
        totals=[("Agreed rate 约定单价（元/小时）", f"{charge.hourly_rate:.2f}")],
    )


def _service_record_pdf(claim: VoucherRedemption) -> bytes:
    charge, booking = claim.charge, claim.charge.booking
    parties = [
        ("Instrument 仪器", f"{booking.instrument.name} ({booking.instrument.code})"),
        ("Requester 申请人", booking.requester.get_username()),
        ("Booked 预约时段", f"{_local(booking.start)} – {_local(booking.end)}"),
        ("Used 实际使用", f"{_local(booking.actual_start)} – {_local(booking.actual_end)}"),
        ("Status 状态", booking.get_status_display()),
        ("Charged 计费", f"{charge.get_kind_display()}, {charge.minutes} min"),
    ]
    rows = [
        [booking.pk, timezone.localtime(booking.start, local_tz()).date().isoformat(), booking.instrument.code,
         line.account.code if line.account else "", f"{line.percent}%", f"{line.amount:.2f}"]
        for line in charge.lines.select_related("account").order_by("id")
    ]  # fmt: skip
    return _pdf_bytes(
        title=f"Service record 服务记录 · booking 预约 #{booking.pk}",
        parties=parties,
        tax_fields=[],
        rows=rows,
        totals=[
            ("Gross 原价（元）", f"{charge.gross:.2f}"),
            ("Subsidy 补贴（元）", f"{charge.subsidy:.2f}"),
            ("Paid by the company 企业支付（元）", f"{charge.amount:.2f}"),
            ("Claimed from the voucher 申请兑付（元）", f"{claim.amount:.2f}"),
        ],
    )


def _invoice_pdf(invoice) -> bytes:
    handle = invoice_pdf(invoice)
    try:
        return handle.read()
    finally:
        handle.close()


def evidence_pack(claim: VoucherRedemption) -> FileResponse:
    """ZIP: the service contract, the service record, the company's issued invoice (with its fapiao
    fields) and claim.csv summarising the claim."""
    invoices = [
        line.invoice
        for line in InvoiceLine.objects.filter(
            charge_line__charge_id=claim.charge_id, is_credit=False, invoice__status__in=["issued", "paid"]
        ).select_related("invoice__issuer", "invoice__payer", "invoice__credit_of")
    ]
    summary = io.StringIO()
    writer = csv.writer(summary)
    writer.writerow(["claim", "voucher", "scheme", "authority", "company", "booking", "facility", "province",
                     "period", "status", "amount", "invoices"])  # fmt: skip
    writer.writerow([
        claim.pk, claim.voucher.code, claim.scheme.code if claim.scheme else "", claim.agency.code,
        claim.holder.code, claim.charge.booking_id, claim.facility.code, claim.province, claim.period,
        claim.status, f"{claim.amount:.2f}", " ".join(invoice_label(i) for i in dict.fromkeys(invoices)),
    ])  # fmt: skip
    handle = tempfile.TemporaryFile(suffix=".zip")
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as pack:
        pack.writestr("claim.csv", summary.getvalue())
        pack.writestr("1-contract.pdf", _contract_pdf(claim))
        pack.writestr("2-service-record.pdf", _service_record_pdf(claim))
        for invoice in dict.fromkeys(invoices):
            pack.writestr(f"3-invoice-{invoice_label(invoice)}.pdf", _invoice_pdf(invoice))
    handle.seek(0)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"voucher-claim-{claim.pk}-evidence.zip",
        content_type="application/zip",
    )
