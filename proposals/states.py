"""The states of a proposal and of a session, and which may follow which."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Track(models.TextChoices):
    REGULAR = "regular", _("Regular (panel review)")
    RAPID = "rapid", _("Rapid access (staff review only)")


class ProposalStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    AWARDED = "awarded", _("Awarded")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")


PROPOSAL_TRANSITIONS: dict[str, set[str]] = {
    ProposalStatus.DRAFT: {ProposalStatus.SUBMITTED, ProposalStatus.WITHDRAWN},
    ProposalStatus.SUBMITTED: {ProposalStatus.AWARDED, ProposalStatus.DECLINED, ProposalStatus.WITHDRAWN},
    ProposalStatus.AWARDED: {ProposalStatus.WITHDRAWN},
    ProposalStatus.DECLINED: set(),
    ProposalStatus.WITHDRAWN: set(),
}


class CheckKind(models.TextChoices):
    FEASIBILITY = "feasibility", _("Feasibility (beamline scientist)")
    SAFETY = "safety", _("Safety pre-screen")


class MemberRole(models.TextChoices):
    PRINCIPAL_INVESTIGATOR = "pi", _("Principal investigator")
    CO_PROPOSER = "co_proposer", _("Co-proposer")
    STUDENT = "student", _("Student")
    LOCAL_CONTACT = "local_contact", _("Local contact")


class SessionState(models.TextChoices):
    PLACED = "placed", _("Placed by the facility")
    CONFIRMED = "confirmed", _("Confirmed by the team")
    USED = "used", _("Used")
    CANCELLED = "cancelled", _("Cancelled")
    FAULT = "fault", _("Lost to a machine fault")


SESSION_TRANSITIONS: dict[str, set[str]] = {
    SessionState.PLACED: {SessionState.CONFIRMED, SessionState.CANCELLED},
    SessionState.CONFIRMED: {SessionState.USED, SessionState.CANCELLED, SessionState.FAULT},
    SessionState.USED: {SessionState.FAULT},  # part of a used session may be lost to a fault
    SessionState.CANCELLED: set(),
    SessionState.FAULT: set(),
}
