"""A facility's user office opens calls and says which instruments they offer."""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from common.errors import Conflict
from facilities.models import Facility, Instrument, User

from ..models import Call, CallInstrument
from ..selectors import runs_calls_of


def call_create(
    *,
    actor: User,
    facility: Facility,
    code: str,
    title: str,
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    cycle_start: dt.date,
    cycle_end: dt.date,
    title_zh: str = "",
    description: str = "",
    description_zh: str = "",
    grade_min: Decimal = Decimal("1"),
    grade_max: Decimal = Decimal("5"),
    rapid_access: bool = True,
    offers: list[dict] | None = None,
) -> Call:
    """Open a call. `offers`: [{"instrument": id, "shifts_available": n, "rapid_shifts": m}], each an
    instrument of this facility."""
    if not runs_calls_of(actor, facility.pk):
        raise PermissionDenied(_("Only the user office of %(code)s may open its calls.") % {"code": facility.code})
    if closes_at <= opens_at:
        raise ValidationError({"closes_at": _("A call must close after it opens.")})
    if cycle_end < cycle_start:
        raise ValidationError({"cycle_end": _("The cycle must end on or after it starts.")})
    if grade_max <= grade_min:
        raise ValidationError({"grade_max": _("The best grade must be above the lowest.")})
    if not code.strip() or not title.strip():
        raise ValidationError({"code": _("A call needs a code and a title.")})
    with transaction.atomic():
        if Call.objects.filter(facility=facility, code=code).exists():
            raise Conflict(
                "duplicate_call",
                _("%(facility)s already has a call %(code)s.") % {"facility": facility.code, "code": code},
            )
        try:
            with transaction.atomic():
                call = Call.objects.create(
                    facility=facility,
                    code=code,
                    title=title,
                    title_zh=title_zh,
                    description=description,
                    description_zh=description_zh,
                    opens_at=opens_at,
                    closes_at=closes_at,
                    cycle_start=cycle_start,
                    cycle_end=cycle_end,
                    grade_min=grade_min,
                    grade_max=grade_max,
                    rapid_access=rapid_access,
                )
        except IntegrityError as exc:
            raise Conflict(
                "duplicate_call",
                _("%(facility)s already has a call %(code)s.") % {"facility": facility.code, "code": code},
            ) from exc
        for offer in offers or []:
            call_offer(actor=actor, call=call, **offer)
    return call


def call_offer(
    *, actor: User, call: Call, instrument: int, shifts_available: int, rapid_shifts: int = 0
) -> CallInstrument:
    """Offer (or change the offer of) an instrument in a call."""
    if not runs_calls_of(actor, call.facility_id):
        raise PermissionDenied(
            _("Only the user office of %(code)s may change its calls.") % {"code": call.facility.code}
        )
    found = Instrument.objects.filter(pk=instrument, facility_id=call.facility_id).first()
    if found is None:
        raise ValidationError(
            {
                "instrument": _("Instrument %(id)r is not one of %(code)s's.")
                % {"id": instrument, "code": call.facility.code}
            }
        )
    if shifts_available < 1 or rapid_shifts < 0 or rapid_shifts > shifts_available:
        raise ValidationError(
            {"shifts_available": _("Offer at least one shift, and keep no more for rapid access than are available.")}
        )
    offer, _created = CallInstrument.objects.update_or_create(
        call=call,
        instrument=found,
        defaults={"shifts_available": shifts_available, "rapid_shifts": rapid_shifts},
    )
    return offer
