"""Hooks the usage layer offers to the layers above it (billing).

Sent inside the transaction that changed recorded use:
- `use_corrected(booking_ids)`: a manager recorded or corrected use belonging to these bookings, so what
  was charged for them may have changed (billing recomputes charges not yet invoiced).
"""

from django.dispatch import Signal

use_corrected = Signal()
