"""Telling people: after commit, a task mails each recipient once and pushes a notice to /ws/me/."""

from django.db import transaction

from ..models import Proposal, ReviewAssignment


def _enqueue(**kwargs) -> None:
    from ..tasks import send_proposal_notice

    def run() -> None:
        try:
            send_proposal_notice.delay(**kwargs)
        except Exception:  # noqa: BLE001 - the change is committed; a lost mail must not fail it
            import logging

            logging.getLogger(__name__).exception("Could not enqueue a proposal notice %s", kwargs)

    transaction.on_commit(run)


def notify_team(proposal: Proposal, kind: str, key: str = "") -> None:
    _enqueue(proposal_id=proposal.pk, kind=kind, key=key, audience="team")


def notify_office(proposal: Proposal, kind: str, key: str = "") -> None:
    _enqueue(proposal_id=proposal.pk, kind=kind, key=key, audience="office")


def notify_reviewer(assignment: ReviewAssignment) -> None:
    _enqueue(proposal_id=assignment.proposal_id, kind="review_assigned", key=str(assignment.pk), audience="reviewer")
