"""Validators of the numbers Chinese tax and banking documents carry: the 数电票 fapiao number, the
unified social credit code (统一社会信用代码, GB 32100-2015) and the red-letter confirmation number."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum.cn import uscc

FAPIAO_NUMBER = re.compile(r"^\d{20}$")
RED_LETTER_NUMBER = re.compile(r"^\d{20}$")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def normalize_tax_id(value: str) -> str:
    return "".join(str(value).split()).upper()


def validate_tax_id(value: str) -> None:
    """18 characters of the code's alphabet (digits and capitals without I, O, S, V, Z), the
    administrative division (3rd–8th) in digits, and the 18th the GB 32100-2015 check character."""
    code = normalize_tax_id(value)
    if len(code) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters; %(code)s has %(n)d.") % {"code": code, "n": len(code)},
            code="tax_id_length",
        )
    if any(c not in _USCC_ALPHABET for c in code) or not code[2:8].isdigit():
        raise ValidationError(
            _(
                "%(code)s is not a unified social credit code: it uses digits and capital letters other than "
                "I, O, S, V and Z, and its 3rd to 8th characters are digits."
            )
            % {"code": code},
            code="tax_id_format",
        )
    expected = uscc.calc_check_digit(code[:17])
    if code[17] != expected:
        raise ValidationError(
            _("%(code)s fails the check of GB 32100-2015: its last character should be %(c)s.")
            % {"code": code, "c": expected},
            code="tax_id_checksum",
        )


def validate_fapiao_number(value: str, *, year: int | None = None) -> None:
    """A 数电票 number: 20 digits, the first two the last two digits of the year it was issued in."""
    if not FAPIAO_NUMBER.match(str(value)):
        raise ValidationError(
            _("A fully digital fapiao (数电票) number is 20 digits; got %(v)s.") % {"v": str(value)[:40]},
            code="fapiao_number",
        )
    if year is not None and str(value)[:2] != f"{year % 100:02d}":
        raise ValidationError(
            _("A fapiao number begins with the last two digits of its year: %(n)s does not match %(y)d.")
            % {"n": value, "y": year},
            code="fapiao_number_year",
        )


def validate_red_letter_number(value: str) -> None:
    if not RED_LETTER_NUMBER.match(str(value)):
        raise ValidationError(
            _("A red-letter confirmation (红字确认单) number is 20 digits; got %(v)s.") % {"v": str(value)[:40]},
            code="red_letter_number",
        )
