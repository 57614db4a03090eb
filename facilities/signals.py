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
calendar_changed = Signal()
