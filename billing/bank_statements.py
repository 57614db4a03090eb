"""Reading a bank statement export (CSV in GBK or UTF-8, or XLSX) into incoming payments.

Which column holds what differs per bank; the layouts are data (billing/data/bank_formats.json, plus
the file named by BANK_FORMATS_FILE, if any), not code. A statement's preamble (account, period …) is
skipped: the header row is the first row that holds every column the layout needs. Only money coming
in is kept. Nothing here touches the database."""

import csv
import datetime as dt
import io
import json
import unicodedata
import zipfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from openpyxl import load_workbook

FORMATS_FILE = Path(__file__).resolve().parent / "data" / "bank_formats.json"
REQUIRED = ("date", "payer_name")
MAX_ROWS = 50_000


@dataclass(frozen=True)
class StatementRow:
    line: int  # row number in the file, 1-based, for messages
    value_date: dt.date
    amount: Decimal
    payer_name: str
    payer_account: str
    memo: str
    reference: str
    balance: str = ""  # the account's balance after the row, as printed: tells equal transfers apart


@lru_cache(maxsize=1)
def bank_formats() -> dict[str, dict]:
    formats = {k: v for k, v in json.loads(FORMATS_FILE.read_text("utf-8")).items() if not k.startswith("_")}
    extra = getattr(settings, "BANK_FORMATS_FILE", "")
    if extra:
        formats.update({k: v for k, v in json.loads(Path(extra).read_text("utf-8")).items() if not k.startswith("_")})
    return formats


def _clean(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    text = unicodedata.normalize("NFKC", str(value)).replace("\ufeff", "")
    return text.strip().strip("*").strip().strip("\t")


def decode(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else GB 18030 (which contains GBK and GB 2312)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ValidationError(_("The statement is neither UTF-8 nor GBK text, nor an XLSX workbook.")) from None


def read_rows(data: bytes) -> list[list[str]]:
    if data[:4] == b"PK\x03\x04":
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError):
            raise ValidationError(_("The statement looks like an XLSX workbook but cannot be opened.")) from None
        sheet = workbook.worksheets[0]
        rows = []
        for i, row in enumerate(sheet.iter_rows(values_only=True)):
            if i > MAX_ROWS:
                raise ValidationError(_("A statement may have at most %(n)d rows.") % {"n": MAX_ROWS})
            rows.append([_cell(v) for v in row])
        workbook.close()
        return rows
    text = decode(data)
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    rows = []
    try:
        for i, record in enumerate(csv.reader(io.StringIO(text), dialect)):
            if i > MAX_ROWS:
                raise ValidationError(_("A statement may have at most %(n)d rows.") % {"n": MAX_ROWS})
            rows.append([_clean(v) for v in record])
    except csv.Error as exc:
        raise ValidationError(_("The statement is not readable CSV: %(e)s") % {"e": exc}) from None
    return rows


def _cell(value) -> str:
    if isinstance(value, float):
        # Spreadsheet numbers: through repr, so 1234.5 stays 1234.5 and never 1234.4999…
        return repr(value)
    return _clean(value)


def _locate(rows: list[list[str]], layout: dict) -> tuple[int, dict[str, int | list[int]]] | None:
    columns = layout["columns"]
    for index, row in enumerate(rows[:50]):
        header = {name: i for i, name in enumerate(row) if name}
        found: dict[str, int | list[int]] = {}
        for field, names in columns.items():
            present = [header[n] for n in names if n in header]
            if field == "memo":
                found[field] = present
            elif present:
                found[field] = present[0]
        money = "credit" in found or "amount" in found
        if money and all(f in found for f in REQUIRED):
            return index, found
    return None


def detect(rows: list[list[str]], wanted: str | None = None) -> tuple[str, int, dict]:
    formats = bank_formats()
    if wanted is not None and wanted not in formats:
        raise ValidationError(
            {"bank": _("Unknown bank layout %(b)s; choose one of %(all)s.") % {"b": wanted, "all": ", ".join(formats)}}
        )
    for code in [wanted] if wanted else list(formats):
        assert code is not None
        located = _locate(rows, formats[code])
        if located is not None:
            return code, located[0], located[1]
    if wanted:
        raise ValidationError(
            _("The statement has no header row of the %(b)s layout (columns such as %(cols)s).")
            % {"b": wanted, "cols": ", ".join(n[0] for n in formats[wanted]["columns"].values())}
        )
    raise ValidationError(
        _("The statement's columns match no known bank layout (%(all)s).") % {"all": ", ".join(formats)}
    )


def parse_amount(text: str) -> Decimal | None:
    """'1,234.50', '¥1 234.50', '-20.00' → Decimal; '' → None. Fractions of a fen are an error."""
    cleaned = text.replace(",", "").replace("¥", "").replace("￥", "").replace(" ", "").replace("元", "")
    if cleaned in ("", "-", "--"):
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(_("%(v)s is not an amount") % {"v": text[:40]}) from None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")) or abs(value) >= Decimal("1e13"):
        raise ValueError(_("%(v)s is not an amount in yuan and fen") % {"v": text[:40]})
    return value.quantize(Decimal("0.01"))


def parse_date(text: str) -> dt.date:
    digits = "".join(c for c in text[:19] if c.isdigit())
    candidates = []
    if len(text) >= 10 and text[4] in "-/." and text[7] in "-/.":
        candidates.append((text[:4], text[5:7], text[8:10]))
    if len(digits) >= 8:
        candidates.append((digits[:4], digits[4:6], digits[6:8]))
    for y, m, d in candidates:
        try:
            return dt.date(int(y), int(m), int(d))
        except ValueError:
            continue
    raise ValueError(_("%(v)s is not a date") % {"v": text[:40]})


def parse_statement(data: bytes, *, bank: str | None = None) -> tuple[str, list[StatementRow]]:
    """The layout's code and every incoming payment, in file order; a row that cannot be read is an
    error naming its line (a statement is imported whole or not at all)."""
    rows = read_rows(data)
    code, header_index, cols = detect(rows, bank)

    def get(row: list[str], field: str) -> str:
        i = cols.get(field)
        return row[i] if isinstance(i, int) and i < len(row) else ""

    out: list[StatementRow] = []
    errors: list[str] = []
    for offset, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        if not any(row):
            continue
        date_text = get(row, "date")
        if not date_text or not date_text[:1].isdigit():
            continue  # totals and footers (合计, 本页小计 …) have no date
        try:
            if "credit" in cols:
                amount = parse_amount(get(row, "credit"))
            else:
                amount = parse_amount(get(row, "amount"))
            if amount is None or amount <= 0:
                continue  # money going out, or nothing
            value_date = parse_date(date_text)
        except ValueError as exc:
            errors.append(_("line %(n)d: %(e)s") % {"n": offset, "e": exc})
            continue
        memo_cols = cols.get("memo") or []
        assert isinstance(memo_cols, list)
        memo = " ".join(row[i] for i in memo_cols if i < len(row) and row[i])
        out.append(
            StatementRow(
                line=offset,
                value_date=value_date,
                amount=amount,
                payer_name=get(row, "payer_name")[:200],
                payer_account=get(row, "payer_account")[:64],
                memo=memo[:500],
                reference=get(row, "reference")[:64],
                balance=get(row, "balance")[:32],
            )
        )
    if errors:
        raise ValidationError(_("The statement has rows that cannot be read: %(e)s") % {"e": "; ".join(errors[:10])})
    return code, out
