"""Reads of billing data, always scoped to who is asking: finance staff see invoices where their
institution is issuer or payer; platform administrators see all; everybody else sees none."""

import datetime as dt

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from booking.holds import HELD_STATUSES
from booking.models import BookingSplit
from facilities.models import Membership
from facilities.models.tenants import Role

from .models import ChargeLine, InternalTransfer, Invoice, InvoiceLine, InvoiceRun, VoucherRedemption
from .money import ZERO, yuan


def finance_institution_ids(user) -> set[int]:
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(Membership.objects.filter(user=user, role=Role.FINANCE).values_list("institution_id", flat=True))


def invoices_visible_to(user) -> QuerySet[Invoice]:
    if not getattr(user, "is_authenticated", False):
        return Invoice.objects.none()
    qs = Invoice.objects.select_related("issuer", "payer", "credit_of")
    if user.is_superuser:
        return qs
    mine = finance_institution_ids(user)
    if not mine:
        return Invoice.objects.none()
    return qs.filter(Q(issuer_id__in=mine) | Q(payer_id__in=mine))


def invoice_lines(invoice: Invoice) -> QuerySet[InvoiceLine]:
    return (
        InvoiceLine.objects.filter(invoice=invoice)
        .select_related("account", "charge_line__voucher", "charge_line__charge__instrument")
        .order_by("booking_id", "id")
    )


def runs_visible_to(user) -> QuerySet[InvoiceRun]:
    if not getattr(user, "is_authenticated", False):
        return InvoiceRun.objects.none()
    if user.is_superuser or finance_institution_ids(user):
        return InvoiceRun.objects.all()
    return InvoiceRun.objects.none()


def runs_with_visible_invoice_counts(user) -> QuerySet[InvoiceRun]:
    """The runs the user may see, each annotated with `visible_invoices`: how many non-void invoices of the
    run's month the user may see (a run's own `invoices_touched` counts every institution's). One query
    besides the membership look-up, however many runs."""
    if not getattr(user, "is_authenticated", False):
        return InvoiceRun.objects.none()
    invoices = Invoice.objects.all()
    if not user.is_superuser:
        mine = finance_institution_ids(user)
        if not mine:
            return InvoiceRun.objects.none()
        invoices = invoices.filter(Q(issuer_id__in=mine) | Q(payer_id__in=mine))
    count = (
        invoices.exclude(status="void")
        .filter(period=OuterRef("period"))
        .order_by()
        .values("period")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return InvoiceRun.objects.annotate(visible_invoices=Coalesce(Subquery(count), 0))


def ledger_lines(*, institution_id: int, period: str) -> QuerySet[InvoiceLine]:
    """Every line of the month's non-void invoices and credit notes the institution issued or owes."""
    return (
        InvoiceLine.objects.filter(invoice__period=period)
        .filter(Q(invoice__issuer_id=institution_id) | Q(invoice__payer_id=institution_id))
        .exclude(invoice__status="void")
        .order_by("invoice_id", "booking_id", "id")
    )


def redemptions_visible_to(user) -> QuerySet[VoucherRedemption]:
    """Voucher redemptions (and 通用 claims) the user may see: finance staff of the issuing authority, of
    the company holding the voucher, or of the facility's host; platform administrators all."""
    if not getattr(user, "is_authenticated", False):
        return VoucherRedemption.objects.none()
    qs = VoucherRedemption.objects.select_related("voucher", "scheme", "agency", "holder", "facility", "charge")
    if user.is_superuser:
        return qs
    mine = finance_institution_ids(user)
    if not mine:
        return VoucherRedemption.objects.none()
    return qs.filter(Q(agency_id__in=mine) | Q(holder_id__in=mine) | Q(facility__host_id__in=mine))


def journal_lines(*, institution_id: int, period: str) -> QuerySet[InternalTransfer]:
    """The month's internal transfers of one institution, in journal order."""
    return (
        InternalTransfer.objects.filter(institution_id=institution_id, period=period)
        .select_related("debit_account", "facility")
        .order_by("date", "booking_id", "id")
    )


def group_spending(group, *, now) -> list[dict]:
    """What a research group's people spent on each of the group's accounts in the month of `now`
    (Asia/Shanghai): charged (ChargeLine of that period) plus the estimate of their bookings still held
    that start in the month (booked time × fixed rate × the account's percent). Callers check that the
    reader may see the group (facilities.selectors.groups_visible_to)."""
    # Imported here, not at the top: billing.selectors is read early, and the booking services must not
    # be imported before the apps connect their receivers in a fixed order.
    from booking.services.quotas import group_people_ids, period_bounds

    from .services.fees import time_fee

    people = group_people_ids(group.pk)
    start, end = period_bounds(now, "month")
    period = start.strftime("%Y-%m")
    rows = []
    for account in group.accounts.order_by("code"):
        charged = (
            ChargeLine.objects.filter(account=account, period=period, booking__requester_id__in=people).aggregate(
                s=Sum("amount")
            )["s"]
            or ZERO
        )
        held = BookingSplit.objects.filter(
            account=account,
            booking__status__in=HELD_STATUSES,
            booking__requester_id__in=people,
            booking__start__gte=start,
            booking__start__lt=end,
        ).values_list("booking__start", "booking__end", "percent", "booking__rate_snapshot__hourly_rate")
        estimate = sum(
            (time_fee(rate or ZERO, int((e - s) / dt.timedelta(minutes=1))) * pct / 100 for s, e, pct, rate in held),
            ZERO,
        )
        rows.append(
            {
                "account": account.code,
                "month": period,
                "charged": f"{yuan(charged):.2f}",
                "held_estimate": f"{yuan(estimate):.2f}",
                "total": f"{yuan(charged + estimate):.2f}",
            }
        )
    return rows
