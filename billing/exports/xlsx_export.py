"""XLSX with bilingual (English / Chinese) headings, written in openpyxl's write-only mode to a
temporary file, so rows never accumulate in memory."""

import tempfile
from collections.abc import Iterable
from decimal import Decimal

from django.http import FileResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def write_xlsx(
    *, title: str, preamble: list[list], columns: list[tuple[str, str, str]], rows: Iterable[list], footer: list[list]
):
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    bold = Font(bold=True)
    for row in preamble:
        sheet.append(row)
    sheet.append([])
    header = []
    for _, en, zh in columns:
        cell = WriteOnlyCell(sheet, value=f"{en} / {zh}")
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        out = []
        for value in row:
            if isinstance(value, Decimal):
                cell = WriteOnlyCell(sheet)
                cell.value = (
                    value  # a Cell takes a Decimal (exact, stored as a number); WriteOnlyCell's stub says float
                )
                cell.number_format = "0.00"
                out.append(cell)
            else:
                out.append(value)
        sheet.append(out)
    sheet.append([])
    for row in footer:
        sheet.append(row)
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(handle)
    handle.seek(0)
    return handle


def xlsx_response(filename: str, handle) -> FileResponse:
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=XLSX_TYPE)
