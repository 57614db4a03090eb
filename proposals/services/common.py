"""Helpers shared by the proposal services: locking, the audit entry, the guards."""

from functools import partial

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from common.errors import Conflict

from ..models import Proposal, ProposalEvent
from ..selectors import proposals_visible_to, runs_calls_of


def lock_proposal(actor, proposal_id: int) -> Proposal:
    """The proposal, locked, if `actor` may see it (else 404, so nothing leaks about its existence)."""
    visible = proposals_visible_to(actor).filter(pk=proposal_id).values_list("pk", flat=True)
    proposal = Proposal.objects.select_for_update().filter(pk__in=list(visible)).select_related("call").first()
    if proposal is None:
        raise Http404(_("No such proposal, or you may not see it."))
    return proposal


def is_team(actor, proposal: Proposal) -> bool:
    return proposal.principal_investigator_id == actor.pk or proposal.members.filter(user=actor).exists()


def require_team(actor, proposal: Proposal) -> None:
    if not is_team(actor, proposal):
        raise PermissionDenied(_("Only the team of proposal P%(id)s may do that.") % {"id": proposal.pk})


def require_office(actor, proposal: Proposal) -> None:
    if not runs_calls_of(actor, proposal.call.facility_id):
        raise PermissionDenied(
            _("Only the user office of %(code)s may do that.") % {"code": proposal.call.facility.code}
        )


VERBS = {
    "submitted": pgettext_lazy("a proposal cannot be …", "submitted"),
    "withdrawn": pgettext_lazy("a proposal cannot be …", "withdrawn"),
    "decided": pgettext_lazy("a proposal cannot be …", "decided"),
}


def move(proposal: Proposal, to: str, verb: str) -> None:
    if not proposal.can_transition(to):
        raise Conflict(
            "invalid_transition",
            _("Proposal P%(id)s is %(status)s and cannot be %(verb)s.")
            % {"id": proposal.pk, "status": proposal.get_status_display().lower(), "verb": VERBS.get(verb, verb)},
        )
    proposal.status = to


def record(proposal: Proposal, actor, verb: str, **data) -> None:
    ProposalEvent.objects.create(proposal=proposal, actor=actor, verb=verb, data=data)


def after_commit(fn, *args, **kwargs) -> None:
    transaction.on_commit(partial(fn, *args, **kwargs))
