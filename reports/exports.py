"""The quarterly sharing report of one facility as a file for the authorities: CSV (UTF-8 with a byte-order
mark, so spreadsheet programs read the Chinese headings) and XLSX. One row per instrument, headings in
English and Chinese; the XLSX adds a summary sheet with the facility's totals."""

import csv
import io

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from common.time import local_tz

from .rows import USER_CLASSES, figures_row, instrument_row
from .selectors import FacilityReport

REVENUE_ZH = {"internal": "内部用户", "external_academic": "外部学术用户", "industry": "企业用户"}
REVENUE_EN = {"internal": "internal", "external_academic": "external academic", "industry": "industry"}

# (key in the row, English heading, Chinese heading)
FIGURE_COLUMNS = [
    ("available_hours", "Available hours", "可用机时"),
    ("booked_hours", "Booked hours", "预约机时"),
    ("used_hours", "Used hours", "运行机时"),
    ("utilisation", "Utilisation rate", "机时利用率"),
    ("host_hours", "Host institution hours", "本单位使用机时"),
    ("shared_hours", "Shared hours (outside users)", "共享机时（对外服务）"),
    ("company_hours", "Company hours", "企业用户机时"),
    ("outside_institutions", "Outside institutions served", "服务外单位数"),
    ("outside_users", "Outside users served", "服务外单位用户数"),
    ("no_show_hours", "No-show hours", "预约未到机时"),
    ("late_cancellation_hours", "Late-cancellation hours", "临时取消机时"),
    *[
        (f"revenue.{c}", f"Revenue, {REVENUE_EN.get(c, c)} (CNY)", f"收入-{REVENUE_ZH.get(c, c)}（元）")
        for c in USER_CLASSES
    ],
    ("revenue_total", "Revenue total (CNY)", "收入合计（元）"),
]
INSTRUMENT_COLUMNS = [
    ("facility", "Facility code", "设施编号"),
    ("period", "Period", "报告期"),
    ("code", "Instrument code", "仪器编号"),
    ("name", "Instrument name", "仪器名称"),
    ("name_zh", "Instrument name in Chinese", "仪器中文名称"),
    *FIGURE_COLUMNS,
    ("time_shares", "Co-building partners: used / reserved hours", "共建单位：使用/预留机时"),
]


def heading(en: str, zh: str) -> str:
    return f"{en} / {zh}"


def _value(row: dict, key: str):
    if "." in key:
        outer, inner = key.split(".", 1)
        return row[outer][inner]
    return row[key]


def _shares_text(shares: list[dict]) -> str:
    return "; ".join(f"{s['institution']} {s['percent']}%: {s['used_hours']} / {s['reserved_hours']} h" for s in shares)


def instrument_table(report: FacilityReport) -> list[list]:
    """Header row, then one row per instrument, as strings and integers."""
    rows = [[heading(en, zh) for _, en, zh in INSTRUMENT_COLUMNS]]
    for r in report.instruments:
        row = {**instrument_row(r), "facility": report.facility.code, "period": report.period.label}
        row["time_shares"] = _shares_text(row["time_shares"])
        rows.append(["" if (v := _value(row, key)) is None else v for key, _, _ in INSTRUMENT_COLUMNS])
    return rows


def filename(report: FacilityReport, extension: str) -> str:
    return f"sharing-{report.facility.code}-{report.period.label}.{extension}"


def as_csv(report: FacilityReport) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(instrument_table(report))
    return buffer.getvalue().encode("utf-8-sig")


def _number(value):
    """Figures go into cells as numbers, so the authorities' spreadsheets can sum them."""
    if isinstance(value, str) and value.replace(".", "", 1).isdigit():
        return float(value)
    return value


SHEETS = {
    "instruments": (
        "Instruments 仪器",
        [
            heading("Instrument", "仪器"),
            heading("Panel", "评审组"),
            heading("Shifts available", "可用班次"),
            heading("Panel shifts", "评审分配班次"),
            heading("Shifts requested", "申请班次"),
            heading("Oversubscription", "超额申请倍数"),
            heading("Cutoff grade", "分数线"),
        ],
        lambda r: [
            r["instrument"],
            r["panel"],
            r["shifts_available"],
            r["panel_shifts"],
            r["requested"],
            float(r["oversubscription"]) if r["oversubscription"] else None,
            float(r["cutoff_grade"]) if r["cutoff_grade"] else None,
        ],
    ),
    "awarded_by_institution": (
        "Institutions 单位",
        [heading("Institution", "单位"), heading("Shifts awarded", "批准班次")],
        lambda r: [r["institution"], r["shifts_awarded"]],
    ),
    "awarded_by_province": (
        "Provinces 省市",
        [heading("Province", "省市"), heading("Shifts awarded", "批准班次")],
        lambda r: [r["province"], r["shifts_awarded"]],
    ),
    "partner_shares": (
        "Partner shares 共建份额",
        [
            heading("Instrument", "仪器"),
            heading("Partner", "共建单位"),
            heading("Share %", "份额 %"),
            heading("Hours", "机时"),
            heading("Actual %", "实际 %"),
            heading("Met", "达标"),
            heading("Used hours", "运行机时"),
        ],
        lambda r: [
            r["instrument"],
            r["partner"],
            float(r["share_percent"]),
            float(r["hours"]),
            float(r["actual_percent"]),
            "yes 是" if r["met"] else "no 否",
            float(r["used_hours"]),
        ],
    ),
}


def write_call_sheets(wb: Workbook, calls: list[dict], *, prefix: str = "") -> None:
    """One sheet per figure (instruments, institutions, provinces, partner shares). With a prefix (the
    sharing report's workbook, which may cover several calls), each row starts with its call."""
    for key, (title, headings, cells) in SHEETS.items():
        sheet = wb.create_sheet(f"{prefix}{title}"[:31])
        call_column = [heading("Call", "课题征集")] if prefix else []
        sheet.append(call_column + headings)
        for figures in calls:
            label = [f"{figures['call']['facility']} {figures['call']['code']}"] if prefix else []
            for row in figures[key]:
                sheet.append(label + cells(row))


def as_xlsx(report: FacilityReport, *, beamtime: list[dict] | None = None) -> bytes:
    """The sharing report's workbook; with `beamtime` (reports.proposals.beamtime_figures), the figures of
    the facility's calls for proposals whose cycle overlaps the period, on four more sheets."""
    wb = Workbook()
    sheet = wb.active
    assert isinstance(sheet, Worksheet)  # a new workbook starts with one worksheet
    sheet.title = "Instruments 仪器"
    table = instrument_table(report)
    sheet.append(table[0])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    text_columns = {"facility", "period", "code", "name", "name_zh", "time_shares"}
    keys = [key for key, _, _ in INSTRUMENT_COLUMNS]
    for row in table[1:]:
        sheet.append([v if k in text_columns else _number(v) for k, v in zip(keys, row, strict=True)])
    for index in range(1, len(keys) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 18
    sheet.freeze_panes = "F2"

    summary = wb.create_sheet("Summary 汇总")
    f = report.facility
    generated = timezone.now().astimezone(local_tz()).strftime("%Y-%m-%d %H:%M")
    for label, value in [
        (heading("Facility", "设施"), f"{f.code} {f.name} {f.name_zh}".strip()),
        (heading("Host institution", "依托单位"), f"{f.host.code} {f.host.name} {f.host.name_zh}".strip()),
        (heading("Province", "省市"), f.get_province_display()),
        (heading("Period", "报告期"), report.period.label),
        (heading("Instruments", "仪器台套数"), len(report.instruments)),
        (heading("Generated", "生成时间"), generated),
    ]:
        summary.append([label, value])
    totals = figures_row(report.totals)
    for key, en, zh in FIGURE_COLUMNS:
        value = _value(totals, key)
        summary.append([heading(en, zh), "" if value is None else _number(value)])
    summary.column_dimensions["A"].width = 52
    summary.column_dimensions["B"].width = 60
    if beamtime:
        write_call_sheets(wb, beamtime, prefix="Beamtime ")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
