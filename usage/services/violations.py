"""Violations and their consequences: no-shows, late cancellations and use far shorter than booked are
counted per user and facility; a facility's policy (e.g. three in 90 days) suspends booking there for a
while, with a notice to the user, who may appeal once; a manager of the facility decides. The
suspension is a booking rule, answered through the booking layer's `validate_requester` hook, in the
order of checks right after qualification. Everything here is in the audit trail (django-auditlog)."""

import datetime as dt
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.models import Booking
from common.errors import Conflict
from facilities.models import Instrument, User
from facilities.selectors import is_manager_of

from ..models import Suspension, Violation, ViolationKind, ViolationPolicy
from ..selectors import booking_use

MAX_TEXT = 2000


def policy_for(facility_id: int) -> ViolationPolicy:
    """The facility's policy; without one, an inactive policy with the defaults (counts, suspends nobody)."""
    return ViolationPolicy.objects.filter(facility_id=facility_id).first() or ViolationPolicy(
        facility_id=facility_id, active=False
    )


def suspensions_in_force(*, user_id: int, now: dt.datetime | None = None):
    now = now or timezone.now()
    return Suspension.objects.filter(user_id=user_id, starts_at__lte=now, ends_at__gt=now)


def active_suspension(*, user_id: int, facility_id: int, now: dt.datetime | None = None) -> Suspension | None:
    return suspensions_in_force(user_id=user_id, now=now).filter(facility_id=facility_id).order_by("-ends_at").first()


def check_standing(*, requester: User, instrument: Instrument, now: dt.datetime | None = None) -> None:
    """Refuse a booking by a suspended user (the `validate_requester` hook's answer)."""
    suspension = active_suspension(user_id=requester.pk, facility_id=instrument.facility_id, now=now)
    if suspension is not None:
        raise ValidationError(
            {
                "requester": _(
                    "Suspended: you may not book at %(code)s until %(localtime)s "
                    "(%(reason)s). You may appeal to the facility's managers."
                )
                % {
                    "code": instrument.facility.code,
                    "localtime": format(timezone.localtime(suspension.ends_at), "%Y-%m-%d %H:%M"),
                    "reason": suspension.reason,
                }
            }
        )


def violation_record(*, booking: Booking, kind: str, now: dt.datetime | None = None, detail: str = "") -> Violation:
    """Count a violation against the booking's requester (once per booking and kind), then apply the
    facility's policy. Runs inside the caller's transaction (the booking's transition)."""
    now = now or timezone.now()
    facility_id = booking.instrument.facility_id
    # A no-show or short use happened at the booking's start; a late cancellation when it was made.
    at = (booking.cancelled_at or now) if kind == ViolationKind.LATE_CANCELLATION else min(booking.start, now)
    violation, created = Violation.objects.get_or_create(
        booking=booking,
        kind=kind,
        defaults={"user_id": booking.requester_id, "facility_id": facility_id, "occurred_at": at, "detail": detail},
    )
    if created:
        _apply_policy(user_id=booking.requester_id, facility_id=facility_id, now=now)
    return violation


def _apply_policy(*, user_id: int, facility_id: int, now: dt.datetime) -> Suspension | None:
    policy = policy_for(facility_id)
    if not policy.active or active_suspension(user_id=user_id, facility_id=facility_id, now=now) is not None:
        return None
    counted = list(
        Violation.objects.filter(
            user_id=user_id,
            facility_id=facility_id,
            waived=False,
            occurred_at__gt=now - dt.timedelta(days=policy.window_days),
            occurred_at__lte=now,
        ).exclude(suspensions__isnull=False)  # a violation leads to one suspension at most
    )
    if len(counted) < policy.max_violations:
        return None
    suspension = Suspension.objects.create(
        user_id=user_id,
        facility_id=facility_id,
        starts_at=now,
        ends_at=now + dt.timedelta(days=policy.suspension_days),
        reason=f"{len(counted)} violations in {policy.window_days} days",
    )
    suspension.violations.set(counted)
    transaction.on_commit(partial(_notify, suspension.pk, "suspended"))
    return suspension


def _notify(suspension_id: int, event: str) -> None:
    from ..tasks import send_suspension_notice

    send_suspension_notice.delay(suspension_id, event)


def short_use(booking: Booking, policy: ViolationPolicy) -> bool:
    """Use recorded and far shorter than booked: below the policy's percent of the booked time."""
    if not policy.short_use_percent:
        return False
    use = booking_use(booking)
    return use is not None and use.used_minutes * 100 < booking.duration_minutes * policy.short_use_percent


def suspension_appeal(*, user: User, suspension_id: int, text: str, now: dt.datetime | None = None) -> Suspension:
    now = now or timezone.now()
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Say why the suspension should be lifted.")})
    if len(text) > MAX_TEXT:
        raise ValidationError(
            {"text": _("An appeal may be at most %(max_text)s characters long.") % {"max_text": MAX_TEXT}}
        )
    with transaction.atomic():
        suspension = Suspension.objects.select_for_update().filter(pk=suspension_id, user=user).first()
        if suspension is None:
            raise Http404(_("No such suspension, or it is not yours."))
        if suspension.appeal != Suspension.Appeal.NONE:
            raise Conflict("already_appealed", _("This suspension was already appealed; a manager decides once."))
        if suspension.ends_at <= now:
            raise Conflict("suspension_over", _("This suspension is over; there is nothing to appeal."))
        suspension.appeal, suspension.appeal_text, suspension.appealed_at = Suspension.Appeal.PENDING, text, now
        suspension.save(update_fields=["appeal", "appeal_text", "appealed_at"])
    return suspension


def suspension_decide(
    *, actor: User, suspension_id: int, grant: bool, reason: str, now: dt.datetime | None = None
) -> Suspension:
    """A manager of the facility decides an appeal: granted lifts the suspension at once and waives its
    violations; rejected leaves it. The user is told either way."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the decision; the user is told.")})
    if len(reason) > MAX_TEXT:
        raise ValidationError(
            {"reason": _("The reason may be at most %(max_text)s characters long.") % {"max_text": MAX_TEXT}}
        )
    with transaction.atomic():
        suspension = Suspension.objects.select_for_update().filter(pk=suspension_id).first()
        if suspension is None:
            raise Http404(_("No such suspension."))
        if not (actor.is_superuser or is_manager_of(actor, suspension.facility_id)):
            raise PermissionDenied(_("Only the facility's managers decide appeals against its suspensions."))
        if suspension.appeal != Suspension.Appeal.PENDING:
            raise Conflict("no_pending_appeal", _("There is no pending appeal against this suspension."))
        suspension.appeal = Suspension.Appeal.GRANTED if grant else Suspension.Appeal.REJECTED
        suspension.decided_by, suspension.decided_at, suspension.decision_reason = actor, now, reason
        if grant:
            suspension.ends_at = max(suspension.starts_at, now)
            for violation in suspension.violations.all():
                violation.waived = True
                violation.save(update_fields=["waived"])
        suspension.save()
        transaction.on_commit(partial(_notify, suspension.pk, "decided"))
    return suspension


def violation_policy_set(
    *,
    actor: User,
    facility_id: int,
    active: bool,
    max_violations: int,
    window_days: int,
    suspension_days: int,
    short_use_percent: int,
) -> ViolationPolicy:
    """A manager of the facility (or a platform admin) sets its violation policy."""
    if not (actor.is_superuser or is_manager_of(actor, facility_id)):
        raise PermissionDenied(_("Only the facility's managers set its violation policy."))
    for name, value, low in (
        ("max_violations", max_violations, 1),
        ("window_days", window_days, 1),
        ("suspension_days", suspension_days, 1),
    ):
        if value < low:
            raise ValidationError({name: _("Must be at least %(low)s.") % {"low": low}})
    if not 0 <= short_use_percent <= 100:
        raise ValidationError({"short_use_percent": _("Must be between 0 and 100.")})
    values = {
        "active": active,
        "max_violations": max_violations,
        "window_days": window_days,
        "suspension_days": suspension_days,
        "short_use_percent": short_use_percent,
    }
    with transaction.atomic():
        row, _created = ViolationPolicy.objects.update_or_create(facility_id=facility_id, defaults=values)
    return row


def on_validate_requester(sender, *, requester, instrument, **kwargs) -> None:
    check_standing(requester=requester, instrument=instrument)


def on_requester_barred(sender, *, requester, instruments, **kwargs) -> set[int]:
    """`check_standing` for a list of instruments, in one query: those at facilities that suspended the requester."""
    suspended = set(
        suspensions_in_force(user_id=requester.pk)
        .filter(facility_id__in={i.facility_id for i in instruments})
        .values_list("facility_id", flat=True)
    )
    return {i.pk for i in instruments if i.facility_id in suspended}


def on_booking_transitioned(sender, *, booking: Booking, from_status: str, to_status: str, actor=None, **kwargs):
    if to_status == Booking.Status.NO_SHOW:
        violation_record(booking=booking, kind=ViolationKind.NO_SHOW)
    elif to_status == Booking.Status.COMPLETED and short_use(booking, policy_for(booking.instrument.facility_id)):
        violation_record(booking=booking, kind=ViolationKind.SHORT_USE, detail="used far less than booked")
