"""Hooks the booking layer offers to the layers above it (billing, notifications, live updates).

Sent inside the booking's transaction, so a receiver's writes commit or roll back with it:
- `booking_created(booking, splits)`: a booking row and its splits (SplitSpecs) were just written.
- `booking_transitioned(booking, from_status, to_status, actor)`: a state change was just written.
- `validate_splits(requester, institution, instrument, start, end, splits, replacing_booking_id=None)`:
  before the booking is written, under the lock on its instrument and its capped accounts
  (`institution` is the one the requester books for; `replacing_booking_id` when a booking is being
  moved, so that its own estimate is not counted twice); a receiver raises
  django.core.exceptions.ValidationError to refuse (e.g. a budget cap that would be exceeded).
- `validate_approval(booking, actor)`: in the one path that approves a booking (`services.transitions.
  transition` to `approved`: the console queue, the API's decide, bulk decisions, the admin, the system),
  under the booking's lock, before anything changes; a receiver raises
  django.core.exceptions.ValidationError, in words, to refuse (e.g. proposals: a beamtime session whose
  team has not confirmed it or whose safety form is not approved yet).
- `validate_requester(requester, instrument)`: in the order of checks right after qualification
  (booking.rules.check_qualification, which every path that books calls); a receiver raises
  django.core.exceptions.ValidationError to refuse (e.g. a suspension after violations).
- `requester_barred(requester, instruments)`: the same question for a list ("bookable by me",
  booking.rules.bookable_by): a receiver returns the set of those instrument ids it would refuse the
  requester, in a fixed number of queries. Whoever answers `validate_requester` answers this too.

Sent after the transaction committed (never from inside it):
- `booking_changed(booking_id, instrument_id, facility_id, requester_id, event, status, sequence)` where
  event is one of requested, approved, rejected, cancelled, completed, no_show, moved, flagged (a calendar
  change put it in closed time), kept (the facility keeps it despite that), and status and
  sequence are the booking's as committed.
- `waitlist_offered(entry_id, user_id, instrument_id, start, end, expires_at)`: a waiting user was
  offered a slot that freed up; they may accept it until `expires_at` (notifications listen).
- `calendar_flag_changed(flag_id, booking_id, event)`: a calendar change put a held booking in closed
  time (event `flagged`), or the facility kept it despite that (`kept`); notifications listen.
"""

from django.dispatch import Signal

booking_created = Signal()
booking_transitioned = Signal()
validate_splits = Signal()
validate_requester = Signal()
requester_barred = Signal()
booking_changed = Signal()
waitlist_offered = Signal()
calendar_flag_changed = Signal()
validate_approval = Signal()
