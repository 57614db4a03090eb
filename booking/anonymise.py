"""What the booking layer scrubs when a platform administrator anonymises a departed person
(facilities.services.person_anonymise; docs/audit.md#anonymising-a-person).

Purposes are cleared: they are free text the person wrote and may name them, their co-workers or their
project, and nobody needs them once the work is done. The bookings themselves stay — times, states, splits,
the instrument, the institution — so charges, invoices and reports do not move. Stored replies to
idempotent requests (which repeat the purpose) are dropped."""

from django.dispatch import receiver

from facilities.models import User
from facilities.signals import person_anonymised

from .models import Booking, BookingBundle, IdempotencyRecord


@receiver(person_anonymised)
def scrub_bookings(sender, user: User, **kwargs) -> None:
    Booking.objects.filter(requester=user).exclude(purpose="").update(purpose="")
    BookingBundle.objects.filter(requester=user).exclude(purpose="").update(purpose="")
    IdempotencyRecord.objects.filter(user=user).delete()
