"""The invoice PDF: every font embedded, no missing glyphs, thousands grouped, hours × rate on each line."""

import shutil
import subprocess
from decimal import Decimal as D

import pytest

from billing.exports import pdf_export
from billing.exports.documents import hours_times_rate, invoice_pdf
from billing.exports.pdf_export import Fonts, runs, yuan

from .test_billing_exports import invoiced  # noqa: F401  (the fixture)

needs_poppler = pytest.mark.skipif(not shutil.which("pdffonts"), reason="poppler-utils (pdffonts) is not installed")
needs_fonts = pytest.mark.skipif(
    not any(p.exists() for p in map(__import__("pathlib").Path, [c[0] for c in pdf_export.CJK_FONTS])),
    reason="no TrueType CJK font (Debian: fonts-wqy-microhei)",
)


def pdf_file(invoice, tmp_path):
    handle = invoice_pdf(invoice)
    path = tmp_path / "invoice.pdf"
    path.write_bytes(handle.read())
    return path


@needs_poppler
@needs_fonts
def test_every_font_is_embedded(invoiced, tmp_path):  # noqa: F811
    out = subprocess.run(["pdffonts", pdf_file(invoiced.invoice, tmp_path)], capture_output=True, text=True).stdout
    fonts = out.splitlines()[2:]
    assert len(fonts) == 2, out  # the Latin and the CJK font
    assert all(" yes yes " in line for line in fonts), out  # embedded, subset
    assert "STSong" not in out


@needs_poppler
@needs_fonts
def test_text_reads_back_with_grouped_amounts_and_hours_times_rate(invoiced, tmp_path):  # noqa: F811
    path = pdf_file(invoiced.invoice, tmp_path)
    text = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, text=True).stdout
    assert f"DRAFT-{invoiced.invoice.pk}" in text  # not "DRA FT"
    assert "发票" in text and "合计" in text
    assert "3.00 h × 333.33 − voucher 149.99" in text and "1.00 h × 333.33 − voucher 49.99" in text
    total = invoiced.invoice.total
    assert total >= 1000 and f"{total:,.2f}" in text


def test_amounts_group_thousands():
    assert yuan(D("1234567.5")) == "1,234,567.50" and yuan(D("-1000")) == "-1,000.00" and yuan(D("0")) == "0.00"


def test_hours_times_rate_names_the_subsidy():
    assert hours_times_rate(150, D("1200"), D("0")) == "2.50 h × 1,200.00"
    assert hours_times_rate(60, D("300.00"), D("20.00")) == "1.00 h × 300.00 − 20% subsidy"


def test_characters_go_to_the_font_that_has_them():
    fonts = Fonts(
        latin="L",
        cjk="C",
        latin_chars=frozenset(map(ord, "DRAFT -1é")),
        cjk_chars=frozenset(map(ord, "发票A")),
        embedded=True,
    )
    # Latin stays in the Latin font even where the CJK font has it; what no font has becomes "?".
    assert runs("DRAFT-1 发票 é✓", fonts) == [("L", "DRAFT-1 "), ("C", "发票"), ("L", " é?")]


def test_without_truetype_cjk_fonts_chinese_falls_back_to_the_builtin_cid_font(monkeypatch):
    # Noto CJK has PostScript outlines, which reportlab cannot embed: it must be skipped, not crash.
    monkeypatch.setattr(pdf_export, "CJK_FONTS", [("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2)])
    pdf_export.fonts.cache_clear()
    try:
        f = pdf_export.fonts()
        assert f.cjk == pdf_export.CID_FALLBACK and not f.embedded
        assert runs("Invoice 发票", f) == [(f.latin, "Invoice "), (pdf_export.CID_FALLBACK, "发票")]
    finally:
        pdf_export.fonts.cache_clear()


def test_hours_times_rate_names_the_voucher():
    assert hours_times_rate(60, D("333.33"), D("0"), D("1049.99")) == "1.00 h × 333.33 − voucher 1,049.99"
