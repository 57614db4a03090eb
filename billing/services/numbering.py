"""Invoice numbers: per issuer and year, consecutive, without gaps (SARI-2026-0001).

The next number is taken under a row lock on the issuer's sequence inside the issuing transaction, so
two concurrent issues wait for each other, and a rolled-back issue gives its number back."""

from django.db import IntegrityError, transaction

from facilities.models import Institution

from ..models import InvoiceSequence


def next_number(*, issuer: Institution, year: int) -> str:
    sequence = InvoiceSequence.objects.select_for_update().filter(issuer=issuer, year=year).first()
    if sequence is None:
        try:
            with transaction.atomic():
                InvoiceSequence.objects.create(issuer=issuer, year=year, last=0)
        except IntegrityError:
            pass  # created meanwhile by a concurrent issue; lock that one
        sequence = InvoiceSequence.objects.select_for_update().get(issuer=issuer, year=year)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return f"{issuer.code.upper()}-{year}-{sequence.last:04d}"
