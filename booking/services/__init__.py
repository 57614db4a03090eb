"""Writes to bookings. Every path (API, pages, admin actions, tasks) goes through these functions."""

from .requests import booking_request, SplitSpec
from .transitions import booking_approve, booking_cancel, booking_complete, booking_no_show, booking_reject

__all__ = [
    "SplitSpec",
    "booking_approve",
    "booking_cancel",
    "booking_complete",
    "booking_no_show",
    "booking_reject",
    "booking_request",
]
