"""What the proposals app answers of the booking layer's hooks (booking/signals.py)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from booking.models import Booking

from .models import BeamSession
from .services.sessions import is_blocked
from .states import SessionState


def on_validate_approval(sender, booking: Booking, actor=None, **kwargs) -> None:
    """A beamtime session's booking is approved only once its team confirmed it and its safety form is
    approved — whoever approves it (the user office's release, a manager's queue, the API, the admin).
    The session's own path approves it by itself when both are done (services.sessions)."""
    if booking.kind != Booking.Kind.BEAMTIME:
        return
    session = BeamSession.objects.select_related("request__proposal").filter(booking_id=booking.pk).first()
    if session is None:
        return
    names = {"id": booking.pk, "proposal": f"P{session.request.proposal_id}"}
    if session.state != SessionState.CONFIRMED:
        raise ValidationError(
            _(
                "Booking #%(id)s is a beamtime session of proposal %(proposal)s that its team has not "
                "confirmed yet. It is approved by itself once the team confirms it and the user office "
                "approves its safety form."
            )
            % names
        )
    if is_blocked(session):
        raise ValidationError(
            _(
                "Booking #%(id)s is a beamtime session of proposal %(proposal)s whose safety form is not "
                "approved yet. It is approved by itself once the user office approves the safety form."
            )
            % names
        )
