"""PDF invoice with bilingual headings. Chinese text uses reportlab's built-in CID font STSong-Light
(no font file needed). Drawn line by line on the canvas, page after page, into a temporary file."""

import tempfile
from collections.abc import Iterable

from django.http import FileResponse
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

FONT = "STSong-Light"
_registered = False

# x positions (points) of: booking, date, instrument, account / voucher, percent, amount (right-aligned)
COLS = [40, 95, 160, 270, 440, 555]


def _font() -> str:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


def write_pdf(
    *,
    title: str,
    parties: list[tuple[str, str]],
    tax_fields: list[str],
    rows: Iterable[list],
    totals: list[tuple[str, str]],
):
    """rows: [booking, date, instrument, account or voucher, percent, amount] (strings)."""
    font = _font()
    handle = tempfile.TemporaryFile(suffix=".pdf")
    pdf = canvas.Canvas(handle, pagesize=A4)
    width, height = A4
    page = 1

    def header_row(y: float) -> float:
        pdf.setFont(font, 8)
        labels = [
            "Booking 预约",
            "Date 日期",
            "Instrument 仪器",
            "Account / voucher 账户 / 创新券",
            "Percent 比例",
            "Amount 金额（元）",
        ]
        for x, label in zip(COLS[:-1], labels[:-1], strict=True):
            pdf.drawString(x, y, label)
        pdf.drawRightString(COLS[-1], y, labels[-1])
        pdf.line(40, y - 3, 555, y - 3)
        return y - 14

    def footer() -> None:
        pdf.setFont(font, 7)
        pdf.drawRightString(555, 25, f"{title} · page {page} 第 {page} 页")

    pdf.setFont(font, 14)
    pdf.drawString(40, height - 50, title)
    y = height - 75
    pdf.setFont(font, 9)
    for label, value in parties:
        pdf.drawString(40, y, f"{label}: {value}")
        y -= 13
    y -= 4
    for label in tax_fields:
        pdf.drawString(40, y, f"{label}: ______________________")
        y -= 13
    y = header_row(y - 8)
    pdf.setFont(font, 8)
    for row in rows:
        if y < 50:
            footer()
            pdf.showPage()
            page += 1
            y = header_row(height - 50)
            pdf.setFont(font, 8)
        for x, value in zip(COLS[:-1], row[:-1], strict=True):
            pdf.drawString(x, y, str(value)[:40])
        pdf.drawRightString(COLS[-1], y, str(row[-1]))
        y -= 12
    if y < 80:
        footer()
        pdf.showPage()
        page += 1
        y = height - 50
    pdf.line(40, y + 6, 555, y + 6)
    pdf.setFont(font, 10)
    for label, value in totals:
        y -= 14
        pdf.drawString(270, y, label)
        pdf.drawRightString(555, y, value)
    footer()
    pdf.save()
    handle.seek(0)
    return handle


def pdf_response(filename: str, handle) -> FileResponse:
    return FileResponse(handle, as_attachment=True, filename=filename, content_type="application/pdf")
