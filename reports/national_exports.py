"""The files the national and provincial open-sharing platforms import, with the Chinese field names their
templates use (see docs/sharing-reports.md for the mapping and what is known of each template):

- the national catalog of instruments (科研仪器信息), CSV and XLSX;
- the national service records (服务记录), CSV and XLSX;
- Zhejiang's service-record import template (浙江省大型科研仪器开放共享平台 服务记录导入模板), CSV and XLSX.

CSV: UTF-8 with a byte-order mark (spreadsheet programs then read the Chinese), CRLF, one header row.
XLSX: one sheet, the same header row, money and hours as numeric cells, dates and times as text in the
form the templates ask for (2026-10-05, 2026-10-05 08:00). Chinese names throughout: an instrument or
institution without a Chinese name falls back to its English one."""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from common.time import local_tz
from facilities.models import Institution, Instrument

from .national import (
    SHARING_MODE_ZH,
    USER_TYPE_ZH,
    CatalogEntry,
    ServiceRecord,
    ServiceRecords,
    classification_name,
    operating_status_zh,
)
from .periods import Period

TEXT_TIME = "%Y-%m-%d %H:%M"
PROVINCE_ZH = {"shanghai": "上海市", "anhui": "安徽省", "jiangsu": "江苏省", "zhejiang": "浙江省"}


def zh(obj: Any, field: str = "name") -> str:
    return getattr(obj, f"{field}_zh", "") or getattr(obj, field, "")


def local_number(instrument: Instrument) -> str:
    """The instrument's number inside its institution (所在单位仪器编号): facility code / instrument code."""
    return f"{instrument.facility.code}/{instrument.code}"


def _date(value) -> str:
    return value.isoformat() if value else ""


def _time(moment) -> str:
    return moment.astimezone(local_tz()).strftime(TEXT_TIME)


def user_name(record: ServiceRecord) -> str:
    """Family name first: 张伟 written together, Zhang Wei with a space; the username when no name is known."""
    user = record.booking.requester
    family, given = user.last_name.strip(), user.first_name.strip()
    if not (family or given):
        return user.username
    separator = " " if (family + given).isascii() else ""
    return separator.join(part for part in (family, given) if part)


def _institution_province(institution: Institution) -> str:
    return PROVINCE_ZH.get(institution.province, "")


@dataclass(frozen=True)
class Column:
    heading: str
    value: Callable[[Any], Any]
    number: bool = False  # a numeric cell in XLSX


CATALOG = [
    Column("所属单位", lambda e: zh(e.instrument.facility.host)),
    Column("所属设施/平台", lambda e: zh(e.instrument.facility)),
    Column("国家平台仪器编号", lambda e: e.registration.registry_number),
    Column("所在单位仪器编号", lambda e: local_number(e.instrument)),
    Column("仪器名称", lambda e: zh(e.instrument)),
    Column("英文名称", lambda e: e.instrument.name),
    Column("分类编码", lambda e: e.registration.classification_code),
    Column("仪器分类", lambda e: classification_name(e.registration.classification_code)),
    Column("原值（元）", lambda e: e.registration.original_value, number=True),
    Column("启用日期", lambda e: _date(e.registration.commissioning_date)),
    Column("主要技术指标", lambda e: e.registration.specifications),
    Column("主要功能", lambda e: e.registration.main_functions),
    Column("主要学科领域", lambda e: e.registration.disciplines),
    Column("服务内容", lambda e: e.registration.service_content),
    Column("开放共享规定", lambda e: e.registration.sharing_rules),
    Column("收费标准", lambda e: e.fees_zh),
    Column("预约网址", lambda e: e.booking_url),
    Column("安放地址", lambda e: e.registration.location),
    Column("联系人", lambda e: e.registration.contact_name),
    Column("联系电话", lambda e: e.registration.contact_phone),
    Column("电子邮箱", lambda e: e.registration.contact_email),
    Column("共享模式", lambda e: SHARING_MODE_ZH.get(e.registration.sharing_mode, "")),
    Column("运行状态", lambda e: operating_status_zh(e.instrument)),
    Column("备注", lambda e: e.registration.illustrative),
]

NATIONAL_RECORDS = [
    Column("国家平台仪器编号", lambda r: registry_number(r.booking.instrument)),
    Column("所在单位仪器编号", lambda r: local_number(r.booking.instrument)),
    Column("仪器名称", lambda r: zh(r.booking.instrument)),
    Column("服务对象（用户姓名）", user_name),
    Column("用户单位", lambda r: zh(r.booking.institution)),
    Column("用户类型", lambda r: USER_TYPE_ZH.get(r.user_type, "")),
    Column("服务开始时间", lambda r: _time(r.used_start)),
    Column("服务结束时间", lambda r: _time(r.used_end)),
    Column("服务机时（小时）", lambda r: r.used_hours, number=True),
    Column("服务内容", lambda r: r.booking.purpose),
    Column("服务收费金额（元）", lambda r: r.fee, number=True),
]

ZHEJIANG_RECORDS = [
    Column("仪器编号", lambda r: local_number(r.booking.instrument)),
    Column("仪器名称", lambda r: zh(r.booking.instrument)),
    Column("用户姓名", user_name),
    Column("用户单位名称", lambda r: zh(r.booking.institution)),
    Column("用户单位所在省份", lambda r: _institution_province(r.booking.institution)),
    Column("用户类型", lambda r: USER_TYPE_ZH.get(r.user_type, "")),
    Column("服务开始时间", lambda r: _time(r.used_start)),
    Column("服务结束时间", lambda r: _time(r.used_end)),
    Column("服务时长（小时）", lambda r: r.used_hours, number=True),
    Column("服务内容", lambda r: r.booking.purpose),
    Column("服务收入（元）", lambda r: r.fee, number=True),
    Column("国家平台仪器编号", lambda r: registry_number(r.booking.instrument)),
]

RECORD_TEMPLATES = {"national": NATIONAL_RECORDS, "zhejiang": ZHEJIANG_RECORDS}


def registry_number(instrument: Instrument) -> str:
    registration = getattr(instrument, "registration", None)
    return registration.registry_number if registration else ""


def table(columns: list[Column], items: list) -> list[list]:
    """Header row, then one row per item; None becomes an empty field."""
    rows: list[list] = [[c.heading for c in columns]]
    for item in items:
        rows.append([_plain(c.value(item)) for c in columns])
    return rows


def _plain(value):
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value)
    return value


def as_csv(columns: list[Column], items: list) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(table(columns, items))
    return buffer.getvalue().encode("utf-8-sig")


def as_xlsx(columns: list[Column], items: list, sheet_title: str) -> bytes:
    wb = Workbook()
    sheet = wb.active
    assert isinstance(sheet, Worksheet)  # a new workbook starts with one worksheet
    sheet.title = sheet_title
    rows = table(columns, items)
    sheet.append(rows[0])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows[1:]:
        sheet.append([float(v) if c.number and v != "" else v for c, v in zip(columns, row, strict=True)])
    for index in range(1, len(columns) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 20
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def catalog_file(entries: list[CatalogEntry], fmt: str) -> bytes:
    if fmt == "csv":
        return as_csv(CATALOG, entries)
    return as_xlsx(CATALOG, entries, "科研仪器")


def records_file(records: ServiceRecords, template: str, fmt: str) -> bytes:
    columns = RECORD_TEMPLATES[template]
    if fmt == "csv":
        return as_csv(columns, records.records)
    return as_xlsx(columns, records.records, "服务记录")


def catalog_filename(scope: str, fmt: str) -> str:
    return f"national-catalog-{scope}.{fmt}"


def records_filename(template: str, scope: str, period: Period, fmt: str) -> str:
    return f"{template}-service-records-{scope}-{period.label}.{fmt}"
