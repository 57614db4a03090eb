"""Writes to bookings. Every path (API, pages, admin actions, tasks) goes through these functions."""

from .bundles import booking_bundle_request
from .moves import booking_move
from .requests import SplitSpec, booking_request, booking_request_by_id, booking_request_on_behalf
from .series import booking_series_request
from .transitions import booking_approve, booking_cancel, booking_complete, booking_no_show, booking_reject
from .waitlist import waitlist_accept, waitlist_expire_offers, waitlist_join, waitlist_withdraw

__all__ = [
    "SplitSpec",
    "booking_approve",
    "booking_bundle_request",
    "booking_move",
    "booking_series_request",
    "waitlist_accept",
    "waitlist_expire_offers",
    "waitlist_join",
    "waitlist_withdraw",
    "booking_cancel",
    "booking_complete",
    "booking_no_show",
    "booking_reject",
    "booking_request",
    "booking_request_by_id",
    "booking_request_on_behalf",
]
