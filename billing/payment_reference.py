"""The payment reference a payer quotes on a bank transfer: SJ, the invoice's id in seven digits and
two check digits (ISO 7064 MOD 97-10, as in an IBAN), so a mistyped reference is recognised as such
and never matches another invoice."""

import re
import unicodedata

from stdnum.iso7064 import mod_97_10

PREFIX = "SJ"
FOUND = re.compile(r"SJ\s*-?\s*(\d{9})(?!\d)")


def payment_reference(invoice) -> str:
    digits = f"{invoice.pk:07d}"
    return f"{PREFIX}{digits}{mod_97_10.calc_check_digits(digits)}"


def invoice_ids_in(text: str) -> list[int]:
    """Invoice ids of every well-formed reference in a bank memo (full-width or lower-case letters too)."""
    normal = unicodedata.normalize("NFKC", text or "").upper()
    found = []
    for match in FOUND.finditer(normal):
        digits = match.group(1)
        if mod_97_10.is_valid(digits):
            found.append(int(digits[:7]))
    return found
