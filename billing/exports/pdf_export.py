"""PDF documents with bilingual headings, every font embedded.

Text is set run by run: Latin (and every other character the Latin font has) in an embedded TrueType
Latin font, Chinese in an embedded TrueType CJK font, so Latin never takes a CJK font's spacing ("DRA FT")
and the file shows the same on any reader. The fonts are the first of `LATIN_FONTS` / `CJK_FONTS` found
(Debian: fonts-dejavu-core, fonts-wqy-microhei; Noto CJK is not usable because reportlab cannot embed
PostScript-outline fonts). Without a CJK TrueType font, Chinese falls back to reportlab's built-in CID font
STSong-Light, which is not embedded (the reader supplies it); without a Latin one, to Helvetica. A
character that no font has is drawn as "?" rather than as an empty box. Drawn line by line on the canvas,
page after page, into a temporary file."""

import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from django.http import FileResponse
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen import canvas

# (path, index inside a collection) in order of preference.
LATIN_FONTS = [
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
    ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", 0),
]
CJK_FONTS = [
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
]
CID_FALLBACK = "STSong-Light"
LATIN_FALLBACK = "Helvetica"


@dataclass(frozen=True)
class Column:
    label: str
    x: float
    right: bool = False  # right-aligned at x
    width: float = 0  # longest text drawn, in points (0: no limit)


# booking, date, instrument, account / voucher, percent, amount (right-aligned)
COLUMNS = [
    Column("Booking 预约", 40),
    Column("Date 日期", 95),
    Column("Instrument 仪器", 160, width=105),
    Column("Account / voucher 账户 / 创新券", 270, width=165),
    Column("Percent 比例", 440),
    Column("Amount 金额（元）", 555, right=True),
]


@dataclass(frozen=True)
class Fonts:
    latin: str
    cjk: str
    latin_chars: frozenset[int] | None  # code points the font has (None: the standard font, Latin-1)
    cjk_chars: frozenset[int] | None  # None: the CID font, which covers the CJK ranges
    embedded: bool


def _load_ttf(name: str, candidates: Sequence[tuple[str, int]]) -> TTFont | None:
    for path, index in candidates:
        if not os.path.exists(path):
            continue
        try:
            font = TTFont(name, path, subfontIndex=index)
        except (TTFError, OSError):
            continue  # PostScript outlines, damaged file: try the next
        pdfmetrics.registerFont(font)
        return font
    return None


@cache
def fonts() -> Fonts:
    latin = _load_ttf("SanjiaoLatin", LATIN_FONTS)
    cjk = _load_ttf("SanjiaoCJK", CJK_FONTS)
    if cjk is None:
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
    return Fonts(
        latin=latin.fontName if latin else LATIN_FALLBACK,
        cjk=cjk.fontName if cjk else CID_FALLBACK,
        latin_chars=frozenset(latin.face.charToGlyph) if latin else None,
        cjk_chars=frozenset(cjk.face.charToGlyph) if cjk else None,
        embedded=latin is not None and cjk is not None,
    )


def _is_cjk(code: int) -> bool:
    return (
        0x2E80 <= code <= 0x9FFF  # radicals, punctuation, kana, CJK ideographs
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF  # full-width forms （）：
        or 0x20000 <= code <= 0x2FA1F
    )


def runs(text: str, f: Fonts | None = None) -> list[tuple[str, str]]:
    """Split text into (font, text) runs; a character neither font has becomes "?"."""
    f = f or fonts()
    out: list[tuple[str, str]] = []
    for ch in text:
        code = ord(ch)
        latin_ok = code < 256 if f.latin_chars is None else code in f.latin_chars
        cjk_ok = _is_cjk(code) if f.cjk_chars is None else code in f.cjk_chars
        if latin_ok and not (_is_cjk(code) and cjk_ok):
            font = f.latin
        elif cjk_ok:
            font = f.cjk
        else:
            font, ch = f.latin, "?"
        if out and out[-1][0] == font:
            out[-1] = (font, out[-1][1] + ch)
        else:
            out.append((font, ch))
    return out


def text_width(text: str, size: float) -> float:
    return sum(pdfmetrics.stringWidth(part, font, size) for font, part in runs(text))


def fit(text: str, size: float, width: float) -> str:
    """Cut text with "…" so it is at most `width` points wide."""
    if not width or text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def draw(pdf, x: float, y: float, text: str, size: float, *, right: bool = False) -> None:
    if right:
        x -= text_width(text, size)
    for font, part in runs(text):
        pdf.setFont(font, size)
        pdf.drawString(x, y, part)
        x += pdfmetrics.stringWidth(part, font, size)


def split_label(label: str) -> tuple[str, str]:
    """ "Amount 金额（元）" → ("Amount", "金额（元）"): the text before the first Chinese character, and the rest."""
    for i, ch in enumerate(label):
        if _is_cjk(ord(ch)):
            return label[:i].strip(), label[i:].strip()
    return label, ""


def yuan(value) -> str:
    """An amount with thousands grouped and two decimals: 12,345.60."""
    return f"{Decimal(value):,.2f}"


def write_pdf(
    *,
    title: str,
    parties: list[tuple[str, str]],
    tax_fields: list[str],
    rows: Iterable[list],
    totals: list[tuple[str, str]],
    columns: Sequence[Column] = COLUMNS,
    notes: Sequence[str] = (),
):
    """rows: one string per column (by default: booking, date, instrument, account or voucher, percent,
    amount); notes: lines printed under the totals."""
    handle = tempfile.TemporaryFile(suffix=".pdf")
    pdf = canvas.Canvas(handle, pagesize=A4, initialFontName=fonts().latin)  # type: ignore[arg-type]  # no unused Helvetica
    pdf.setTitle(title)
    width, height = A4
    page = 1

    def header_row(y: float) -> float:
        # English above, Chinese below, so bilingual headings never run into the next column.
        for col in columns:
            english, chinese = split_label(col.label)
            draw(pdf, col.x, y, english, 8, right=col.right)
            draw(pdf, col.x, y - 9, chinese, 8, right=col.right)
        pdf.line(40, y - 12, 555, y - 12)
        return y - 23

    def footer() -> None:
        draw(pdf, 555, 25, f"{title} · page {page} 第 {page} 页", 7, right=True)

    draw(pdf, 40, height - 50, title, 14)
    y = height - 75
    for label, value in parties:
        draw(pdf, 40, y, fit(f"{label}: {value}", 9, 515), 9)
        y -= 13
    y -= 4
    for label in tax_fields:
        draw(pdf, 40, y, f"{label}: ______________________", 9)
        y -= 13
    y = header_row(y - 8)
    for row in rows:
        if y < 50:
            footer()
            pdf.showPage()
            page += 1
            y = header_row(height - 50)
        for col, value in zip(columns, row, strict=True):
            draw(pdf, col.x, y, fit(str(value), 8, col.width), 8, right=col.right)
        y -= 12
    if y < 80 + 11 * len(notes):
        footer()
        pdf.showPage()
        page += 1
        y = height - 50
    pdf.line(40, y + 6, 555, y + 6)
    for label, value in totals:
        y -= 14
        draw(pdf, 270, y, label, 10)
        draw(pdf, 555, y, value, 10, right=True)
    y -= 6
    for note in notes:
        y -= 11
        draw(pdf, 40, y, fit(note, 7, 515), 7)
    footer()
    pdf.save()
    handle.seek(0)
    return handle


def pdf_response(filename: str, handle) -> FileResponse:
    return FileResponse(handle, as_attachment=True, filename=filename, content_type="application/pdf")
