"""A facility's managers set how each of its instruments turns use into money (docs/billing.md#charges).
The policy applies to charges computed from now on; charges already made keep their amounts."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from common.audit import records_actor
from facilities.models import Instrument, User
from facilities.selectors import is_manager_of

from ..models import ChargePolicy

# The fields of a charge policy a facility's managers may change.
POLICY_FIELDS = (
    "billing_model",
    "minimum_charge",
    "minimum_minutes",
    "no_show_percent",
    "late_cancel_hours",
    "late_cancel_percent",
)


def _require_manager(actor: User, instrument: Instrument) -> None:
    if not (actor.is_superuser or is_manager_of(actor, instrument.facility_id)):
        raise PermissionDenied(_("Only this facility's managers may do that."))


def charge_policy_of(*, actor: User, instrument_id: int) -> ChargePolicy:
    """The policy in force (an unsaved one with the defaults when the instrument has none)."""
    instrument = Instrument.objects.filter(pk=instrument_id).first()
    if instrument is None:
        raise Http404(_("No such instrument."))
    _require_manager(actor, instrument)
    return ChargePolicy.for_instrument(instrument.pk)


@records_actor
def charge_policy_update(*, actor: User, instrument_id: int, changes: dict) -> ChargePolicy:
    """Change an instrument's charge policy (creating it from the defaults on first change). Audited
    under the actor's name. Raises Http404, PermissionDenied, ValidationError."""
    unknown = sorted(set(changes) - set(POLICY_FIELDS))
    if unknown:
        raise ValidationError({name: _("This is not part of a charge policy.") for name in unknown})
    with transaction.atomic():
        instrument = Instrument.objects.select_for_update().filter(pk=instrument_id).first()
        if instrument is None:
            raise Http404(_("No such instrument."))
        _require_manager(actor, instrument)
        policy = ChargePolicy.objects.select_for_update().filter(instrument=instrument).first()
        policy = policy or ChargePolicy(instrument=instrument)
        changed = {name: value for name, value in changes.items() if getattr(policy, name) != value}
        if policy.pk and not changed:
            return policy
        for name, value in changed.items():
            setattr(policy, name, value)
        policy.full_clean(exclude=["instrument"])
        policy.save()
    return policy
