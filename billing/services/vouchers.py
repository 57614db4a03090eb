"""Innovation vouchers (创新券): which voucher a charge draws on under its issuer's rules, the draw itself
(voucher balance and the company's yearly cap, both under row locks), giving a draw back, and the life of
a 通用 reimbursement claim. The rules themselves are data on `VoucherScheme`; docs/vouchers.md states them."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import Conflict
from facilities.models import Facility, User

from ..models import (
    Charge,
    InnovationVoucher,
    RedemptionStatus,
    VoucherMode,
    VoucherRedemption,
    VoucherScheme,
    VoucherYearUse,
)
from ..selectors import finance_institution_ids, redemptions_visible_to


@dataclass(frozen=True)
class VoucherDraw:
    """A locked voucher and the most that may be drawn on it now (its balance, and the company's
    remainder of its scheme's cap for the year)."""

    voucher: InnovationVoucher
    limit: Decimal
    year: int
    use: VoucherYearUse | None = None  # the company's year on the voucher's scheme, row-locked


def _year_use(*, scheme_id: int, holder_id: int, year: int) -> VoucherYearUse:
    """The (scheme, company, year) counter, created when missing, row-locked."""
    VoucherYearUse.objects.get_or_create(scheme_id=scheme_id, holder_id=holder_id, year=year)
    return VoucherYearUse.objects.select_for_update().get(scheme_id=scheme_id, holder_id=holder_id, year=year)


def lock_voucher(*, holder_ids: set[int], facility: Facility, day: dt.date) -> VoucherDraw | None:
    """The voucher a charge for service on `day` at `facility` draws on, row-locked so concurrent charges
    see each other's draws: among the payers' vouchers valid that day with money left, the first to
    expire whose scheme (if any) accepts the facility and whose holder has cap left for the year."""
    candidates = list(
        InnovationVoucher.objects.select_for_update(of=("self",))
        .filter(
            Q(facility__isnull=True) | Q(facility_id=facility.pk),
            holder_id__in=holder_ids,
            active=True,
            valid_from__lte=day,
            valid_until__gte=day,
            balance__gt=0,
        )
        .order_by("valid_until", "id")
    )
    schemes = {
        s.pk: s
        for s in VoucherScheme.objects.filter(pk__in={v.scheme_id for v in candidates if v.scheme_id}).prefetch_related(
            "facilities"
        )
    }
    for voucher in candidates:
        if voucher.scheme_id is None:
            return VoucherDraw(voucher, voucher.balance, day.year)
        scheme = schemes[voucher.scheme_id]
        voucher.scheme = scheme
        facility_ids = {f.pk for f in scheme.facilities.all()}
        if not scheme.accepts(facility_id=facility.pk, province=facility.province, facility_ids=facility_ids, day=day):
            continue
        use = _year_use(scheme_id=scheme.pk, holder_id=voucher.holder_id, year=day.year)
        left = scheme.cap_per_company_year - use.used
        if left > 0:
            return VoucherDraw(voucher, min(voucher.balance, left), day.year, use)
    return None


def draw(*, charge: Charge, taken: VoucherDraw, amount: Decimal) -> VoucherRedemption:
    """Take `amount` off the voucher (and the company's year) and record the redemption. The conditional
    updates are the last word: with the row locks they always match, and if anything ever bypassed the
    locks they would refuse rather than overdraw."""
    voucher, use = taken.voucher, taken.use
    # New values are computed here from the rows read under the lock, not in SQL: SQLite would do the
    # arithmetic in floating point (0.69 − 0.35 ≠ 0.34) and the next comparison would fail by a hair.
    moved = InnovationVoucher.objects.filter(pk=voucher.pk, balance=voucher.balance, balance__gte=amount).update(
        balance=voucher.balance - amount
    )
    if moved != 1 or amount > taken.limit:
        raise ValidationError(
            _("Voucher %(code)s no longer has %(amount)s CNY left.") % {"code": voucher.code, "amount": amount}
        )
    scheme = voucher.scheme if voucher.scheme_id else None
    if scheme is not None:
        if use is None or use.used + amount > scheme.cap_per_company_year:
            raise ValidationError(
                _("%(holder)s would exceed the %(cap_per_company_year)s CNY a year of scheme %(code)s.")
                % {"holder": voucher.holder, "cap_per_company_year": scheme.cap_per_company_year, "code": scheme.code}
            )
        if VoucherYearUse.objects.filter(pk=use.pk, used=use.used).update(used=use.used + amount) != 1:
            raise ValidationError(
                _("The yearly use of scheme %(code)s changed while it was locked.") % {"code": scheme.code}
            )
    mode = voucher.mode
    return VoucherRedemption.objects.create(
        charge=charge,
        voucher=voucher,
        scheme=scheme,
        mode=mode,
        agency_id=voucher.agency_id,
        holder_id=voucher.holder_id,
        facility_id=charge.facility_id,
        province=charge.facility.province,
        year=taken.year,
        period=charge.period,
        amount=amount,
        status=RedemptionStatus.INVOICED if mode == VoucherMode.TONGDUI else RedemptionStatus.PENDING,
    )


def give_back(*, voucher_id: int, scheme_id: int | None, holder_id: int, year: int, amount: Decimal) -> None:
    """Return a draw to the voucher and the company's year (recomputed charge, refused claim). Locks in
    the order a draw takes them: the voucher, then the year."""
    if not amount:
        return
    voucher = InnovationVoucher.objects.select_for_update().get(pk=voucher_id)
    InnovationVoucher.objects.filter(pk=voucher_id).update(balance=voucher.balance + amount)
    if scheme_id is not None:
        use = VoucherYearUse.objects.select_for_update().get(scheme_id=scheme_id, holder_id=holder_id, year=year)
        VoucherYearUse.objects.filter(pk=use.pk).update(used=use.used - amount)


def give_back_charge(charge: Charge) -> None:
    """Undo a charge's voucher draw before the charge is computed again."""
    redemption = VoucherRedemption.objects.filter(charge=charge).first()
    if redemption is not None:
        if redemption.status not in (RedemptionStatus.INVOICED, RedemptionStatus.PENDING):
            raise ValidationError(
                _("The voucher claim of booking #%(booking_id)s is already %(status)s.")
                % {"booking_id": charge.booking_id, "status": redemption.status}
            )
        give_back(
            voucher_id=redemption.voucher_id,
            scheme_id=redemption.scheme_id,
            holder_id=redemption.holder_id,
            year=redemption.year,
            amount=redemption.amount,
        )
        redemption.delete()
    elif charge.voucher_id and charge.voucher_amount:  # drawn before redemptions were recorded
        give_back(voucher_id=charge.voucher_id, scheme_id=None, holder_id=0, year=0, amount=charge.voucher_amount)


# --- 通用 claims ----------------------------------------------------------------------------------------


def _lock_claim(actor: User | None, redemption_id: int) -> VoucherRedemption:
    """The claim, row-locked, if the actor may see it (None: the system, e.g. the demo)."""
    claim = (
        (redemptions_visible_to(actor) if actor is not None else VoucherRedemption.objects.all())
        .select_for_update(of=("self",))
        .filter(pk=redemption_id, mode=VoucherMode.TONGYONG)
        .first()
    )
    if claim is None:
        raise Http404(_("No such voucher claim, or you may not see it."))
    return claim


def _refuse(claim: VoucherRedemption, to: str) -> Conflict:
    return Conflict(
        "invalid_transition",
        _("Voucher claim #%(pk)s is %(status)s and cannot become %(to)s.")
        % {"pk": claim.pk, "status": claim.get_status_display().lower(), "to": to},
    )


def claim_submit(*, actor: User | None, redemption_id: int) -> VoucherRedemption:
    """The company (its finance staff) submits its claim with the evidence pack. The pack needs the
    issued invoice the company paid, so an uninvoiced or draft charge cannot be claimed yet."""
    from ..models import InvoiceLine

    with transaction.atomic():
        claim = _lock_claim(actor, redemption_id)
        if actor is not None and not (actor.is_superuser or claim.holder_id in finance_institution_ids(actor)):
            raise PermissionDenied(_("Only the voucher holder's finance staff may submit its claim."))
        if not claim.can_transition(RedemptionStatus.SUBMITTED):
            raise _refuse(claim, "submitted")
        if not InvoiceLine.objects.filter(
            charge_line__charge_id=claim.charge_id, is_credit=False, invoice__status__in=["issued", "paid"]
        ).exists():
            raise ValidationError(
                _(
                    "The claim needs the company's issued invoice for this booking; run and "
                    "issue the month's invoices first."
                )
            )
        claim.status = RedemptionStatus.SUBMITTED
        claim.submitted_at = timezone.now()
        claim.changed_by = actor
        claim.save(update_fields=["status", "submitted_at", "changed_by"])
    return claim


def _decide(*, actor: User | None, redemption_id: int, to: str, reason: str = "") -> VoucherRedemption:
    with transaction.atomic():
        claim = _lock_claim(actor, redemption_id)
        if actor is not None and not (actor.is_superuser or claim.agency_id in finance_institution_ids(actor)):
            raise PermissionDenied(_("Only the issuing authority's finance staff may decide on a voucher claim."))
        if not claim.can_transition(to):
            raise _refuse(claim, to)
        now = timezone.now()
        fields = ["status", "changed_by"]
        if to == RedemptionStatus.REIMBURSED:
            claim.reimbursed_at = now
            fields.append("reimbursed_at")
        else:
            claim.decided_at = now
            fields.append("decided_at")
        if to == RedemptionStatus.REFUSED:
            if not reason.strip():
                raise ValidationError({"reason": _("Say why the claim is refused.")})
            claim.reason = reason[:2000]
            fields.append("reason")
            # A refused claim no longer counts against the voucher or the company's year.
            give_back(
                voucher_id=claim.voucher_id,
                scheme_id=claim.scheme_id,
                holder_id=claim.holder_id,
                year=claim.year,
                amount=claim.amount,
            )
        claim.status = to
        claim.changed_by = actor
        claim.save(update_fields=fields)
    return claim


def claim_approve(*, actor: User | None, redemption_id: int) -> VoucherRedemption:
    return _decide(actor=actor, redemption_id=redemption_id, to=RedemptionStatus.APPROVED)


def claim_reimburse(*, actor: User | None, redemption_id: int) -> VoucherRedemption:
    return _decide(actor=actor, redemption_id=redemption_id, to=RedemptionStatus.REIMBURSED)


def claim_refuse(*, actor: User | None, redemption_id: int, reason: str) -> VoucherRedemption:
    return _decide(actor=actor, redemption_id=redemption_id, to=RedemptionStatus.REFUSED, reason=reason)
