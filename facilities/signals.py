"""Hooks the catalog offers to the layers above it.

`availability_changed` is sent after a transaction that changed an instrument's calendar has
committed (never from inside it), with `instrument_id`, `version` and `reason`. The booking layer
sends it too, so one receiver (live updates) hears about closures and bookings alike.

`calendar_changed` is sent after a transaction that closed time has committed: a closure, new
operating hours, or a year's public-holiday schedule. It carries `instrument_ids` (the instruments
whose calendar changed), `start` and `end` (aware; the span the change may affect) and `reason`. The
booking layer listens and flags the held bookings that now fall in closed time.
"""

from django.dispatch import Signal

availability_changed = Signal()

# Sent inside the transaction that anonymised a departed person (facilities.services.person_anonymise),
# with `user` (already renamed) and `former_username`, so that each layer scrubs what it holds about them.
person_anonymised = Signal()
# Sent after commit when a person's credentials stop being what they were: `user_id`, `reason`
# ("password_changed", "deactivated", "signed_out") and `session_key` (the one session that ended, or None
# for all of them). The live layer closes that person's sockets (booking/live/receivers.py).
credentials_changed = Signal()
calendar_changed = Signal()
# Asked by the catalog's lists for "bookable by me" with `requester` and `instruments`: who may book what is
# the booking layer's rule (booking.rules.bookable_by), so it answers with the set of ids the requester may book.
bookable_asked = Signal()
