"""Writes to calls and proposals. Every path (API, pages, admin, tasks) goes through these functions."""

from .calls import call_create, call_offer
from .drafting import proposal_attach, proposal_create, proposal_submit, proposal_update, proposal_withdraw
from .review import check_record, panel_set, proposal_award, review_grade, reviewer_assign
from .sessions import (
    report_submit,
    safety_approve,
    safety_submit,
    session_cancel,
    session_confirm,
    session_fault,
    session_place,
    suggest_slots,
)

__all__ = [
    "call_create",
    "call_offer",
    "check_record",
    "panel_set",
    "proposal_attach",
    "proposal_award",
    "proposal_create",
    "proposal_submit",
    "proposal_update",
    "proposal_withdraw",
    "report_submit",
    "review_grade",
    "reviewer_assign",
    "safety_approve",
    "safety_submit",
    "session_cancel",
    "session_confirm",
    "session_fault",
    "session_place",
    "suggest_slots",
]
