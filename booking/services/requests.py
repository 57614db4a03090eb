"""A researcher asks for time on an instrument."""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from facilities.companies import company_awaiting_approval
from facilities.models import FundingAccount, Institution, Instrument, User
from facilities.selectors import accounts_chargeable_by, is_manager_of, is_qualified, researcher_institution

from .. import rules
from ..holds import lock_for_booking
from ..models import Booking
from .taking import SplitSpec, take_slot


def requester_institution(user: User) -> Institution:
    """Who may book: a researcher of an institution. Every way of booking asks here first."""
    institution = researcher_institution(user)
    if institution is None:
        registration = company_awaiting_approval(user)
        if registration is not None and registration.is_pending:
            raise PermissionDenied(
                _(
                    "Your company %(company)s awaits approval by a platform administrator; "
                    "you may book once it is approved."
                )
                % {"company": registration.company_name}
            )
        if registration is not None:
            raise PermissionDenied(
                _("Your company %(company)s was not approved; you may not book for it.")
                % {"company": registration.company_name}
            )
        raise PermissionDenied(_("Only researchers may book instruments; your account has no researcher role."))
    return institution


def resolve_splits(*, requester: User, splits: list[dict] | None, day: dt.date) -> list[SplitSpec]:
    """Turn [{"account", "percent"}] into checked SplitSpecs; no splits means the default account pays all."""
    chargeable = {a.pk: a for a in accounts_chargeable_by(requester).order_by("pk")}
    if not splits:
        default = chargeable.get(requester.default_account_id) if requester.default_account_id else None
        default = default or next((a for a in chargeable.values() if a.is_valid_on(day)), None)
        if default is None:
            raise ValidationError({"splits": _("You have no valid funding account to charge; name one in splits.")})
        splits = [{"account": default.pk, "percent": "100"}]
    if len(splits) > 20:
        raise ValidationError({"splits": _("A booking can be split across at most 20 accounts.")})
    specs: list[SplitSpec] = []
    seen: set[int] = set()
    for item in splits:
        account_id, percent = item.get("account"), item.get("percent")
        account: FundingAccount | None = chargeable.get(account_id) if type(account_id) is int else None
        if account is None or not isinstance(account_id, int):
            raise ValidationError(
                {
                    "splits": _("You may not charge account %(account)s: it is not one you lead or are named on.")
                    % {"account": repr(account_id)}
                }
            )
        if account_id in seen:
            raise ValidationError(
                {"splits": _("Account %(code)s appears twice; give it one share.") % {"code": account.code}}
            )
        seen.add(account_id)
        if not account.active:
            raise ValidationError({"splits": _("Account %(code)s is closed.") % {"code": account.code}})
        if not account.is_valid_on(day):
            raise ValidationError(
                {
                    "splits": _("Account %(code)s is valid from %(start)s to %(end)s, not on %(day)s.")
                    % {"code": account.code, "start": account.valid_from, "end": account.valid_until, "day": day}
                }
            )
        try:
            value = Decimal(str(percent))
        except (InvalidOperation, ValueError):
            raise ValidationError(
                {"splits": _("The percent for %(code)s is not a number.") % {"code": account.code}}
            ) from None
        if not value.is_finite() or value <= 0 or value > 100 or value != value.quantize(Decimal("0.01")):
            raise ValidationError(
                {
                    "splits": _("The percent for %(code)s must be above 0, at most 100, with at most two decimals.")
                    % {"code": account.code}
                }
            )
        specs.append(SplitSpec(account_id=account_id, percent=value, account=account))
    total = sum((s.percent for s in specs), Decimal("0"))
    if total != Decimal("100"):
        raise ValidationError(
            {"splits": _("The percents must add up to exactly 100; these add up to %(total)s.") % {"total": total}}
        )
    return specs


def initial_status(*, instrument: Instrument, requester: User, institution: Institution) -> str:
    if not instrument.requires_approval:
        return Booking.Status.APPROVED
    if instrument.auto_approve_host and institution.pk == instrument.facility.host_id:
        return Booking.Status.APPROVED
    if instrument.auto_approve_qualified and is_qualified(user=requester, instrument=instrument):
        return Booking.Status.APPROVED
    return Booking.Status.REQUESTED


def check_on_behalf(*, actor: User | None, requester: User, instrument: Instrument) -> None:
    """Booking for someone else is for the instrument's facility managers (and platform admins) only."""
    if actor is None or actor.pk == requester.pk:
        return
    if not (actor.is_superuser or is_manager_of(actor, instrument.facility_id)):
        raise PermissionDenied(_("Only a manager of this facility may book on behalf of another user."))


def booking_request(
    *,
    requester: User,
    instrument: Instrument,
    start: dt.datetime,
    end: dt.datetime,
    purpose: str = "",
    splits: list[dict] | None = None,
    now: dt.datetime | None = None,
    actor: User | None = None,
) -> Booking:
    """Hold [start, end) on `instrument` for `requester`: approved at once, or requested when the
    instrument needs a manager's approval. Raises PermissionDenied (not a researcher), ValidationError
    (a rule, the first one broken in the order of docs/booking.md), Conflict (slot taken).

    `actor`: who makes the request when it is not the requester — a facility manager booking on a
    user's behalf. The booking is still the requester's, under every rule that binds them (qualification,
    their own accounts, quotas, approval); only the booking's history (its audit log, BookingEvent) names the actor."""
    now = now or timezone.now()
    check_on_behalf(actor=actor, requester=requester, instrument=instrument)
    institution = requester_institution(requester)
    rules.check_purpose(purpose)
    rules.check_static_rules(instrument=instrument, start=start, end=end, now=now)
    rules.check_qualification(instrument=instrument, requester=requester)
    specs = resolve_splits(requester=requester, splits=splits, day=timezone.localtime(start).date())
    with transaction.atomic():
        lock_for_booking(instrument_ids=[instrument.pk], accounts=[s.account for s in specs])
        return take_slot(
            instrument=instrument,
            requester=requester,
            institution=institution,
            start=start,
            end=end,
            status=initial_status(instrument=instrument, requester=requester, institution=institution),
            purpose=purpose,
            splits=specs,
            now=now,
            actor=actor,
        )


def booking_request_by_id(
    *,
    requester: User,
    instrument_id: int,
    start: dt.datetime,
    end: dt.datetime,
    purpose: str = "",
    splits: list[dict] | None = None,
    now: dt.datetime | None = None,
    actor: User | None = None,
) -> Booking:
    """`booking_request` for callers that hold an instrument id (the API, the booking form); an unknown
    id is a ValidationError, as any other bad field."""
    instrument = Instrument.objects.select_related("facility", "facility__host").filter(pk=instrument_id).first()
    if instrument is None:
        raise ValidationError({"instrument": _("No instrument has the id %(id)s.") % {"id": instrument_id}})
    return booking_request(
        requester=requester,
        instrument=instrument,
        start=start,
        end=end,
        purpose=purpose,
        splits=splits,
        now=now,
        actor=actor,
    )


def booking_request_on_behalf(
    *,
    actor: User,
    username: str,
    instrument_id: int,
    start: dt.datetime,
    end: dt.datetime,
    purpose: str = "",
    splits: list[dict] | None = None,
    now: dt.datetime | None = None,
) -> Booking:
    """A facility manager books for a user named by username: the booking is the user's, made by
    `booking_request` with every rule that binds the user, charged to the user's accounts (their default
    when `splits` is empty); the booking's history names the manager. Who does not manage the
    instrument's facility learns nothing about the user (PermissionDenied before the name is looked up)."""
    instrument = Instrument.objects.select_related("facility", "facility__host").filter(pk=instrument_id).first()
    if instrument is None:
        raise ValidationError({"instrument": _("No instrument has the id %(id)s.") % {"id": instrument_id}})
    if not (actor.is_superuser or is_manager_of(actor, instrument.facility_id)):
        raise PermissionDenied(_("Only a manager of this facility may book on behalf of another user."))
    requester = User.objects.filter(username=username.strip(), is_active=True).first() if username else None
    if requester is None:
        raise ValidationError(
            {"on_behalf_of": _("No active user has the username %(name)s.") % {"name": repr(username[:150])}}
        )
    return booking_request(
        requester=requester,
        instrument=instrument,
        start=start,
        end=end,
        purpose=purpose,
        splits=splits,
        now=now,
        actor=actor,
    )
