"""Invoice runs and the life of an invoice: issue, void, credit note.

A run for a month places every charge line of that month not yet on an invoice onto the draft invoice
of its (issuer, payer, month), creating the draft when needed. A charge line is billed at most once
(a unique constraint says so), so running again, or two runs at once, never bill anything twice.
Lines that arrive after their month's invoice was issued go onto a new draft for the same parties.
Lines an institution owes itself (its researchers at its own facility) are not invoiced: they become
internal transfers, exported as journal lines (docs/vouchers.md#internal-settlement).
"""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from booking.models import Booking
from common.audit import records_actor
from common.errors import Conflict
from common.time import local_tz
from facilities.models import User

from ..models import (
    ChargeLine,
    InternalTransfer,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceRun,
    InvoiceStatus,
    default_income_code,
)
from ..money import ZERO
from ..periods import parse_period, period_bounds
from ..selectors import finance_institution_ids, invoices_visible_to
from . import runs
from .background import EXECUTE_INVOICE_RUN, enqueue_on_commit
from .charges import charge_booking, kind_for_status
from .collection import schedule_collection, schedule_remote_void
from .numbering import next_number
from .runs import Lease, may_run_invoices

log = logging.getLogger(__name__)
BATCH = 5000


@records_actor
def invoice_run_start(*, period: str, actor: User | None) -> InvoiceRun:
    """Record a run and hand it to a worker once this transaction commits."""
    period = parse_period(period)
    if actor is not None and not may_run_invoices(actor):
        raise PermissionDenied(_("Only finance staff and platform administrators may run invoices."))
    with transaction.atomic():
        run = InvoiceRun.objects.create(period=period, requested_by=actor)
        enqueue_on_commit(EXECUTE_INVOICE_RUN, run.pk)
    return run


def _charge_missing(run: InvoiceRun, lease: Lease) -> None:
    """Ended bookings of the month without a charge (e.g. recorded before billing existed) get one now."""
    start, end = period_bounds(run.period)
    missing = Booking.objects.filter(
        start__gte=start,
        start__lt=end,
        status__in=[Booking.Status.COMPLETED, Booking.Status.NO_SHOW],
        charge__isnull=True,
    ).values_list("pk", flat=True)
    for pk in list(missing):
        lease.beat()
        with transaction.atomic():
            booking = (
                Booking.objects.select_for_update(of=("self",))
                .select_related("instrument__facility", "institution", "requester")
                .get(pk=pk)
            )
            kind = kind_for_status(booking)  # None if it is no longer an ended booking
            if kind is not None and charge_booking(booking=booking, kind=kind) is not None:
                run.charges_computed += 1


def unbilled_lines(period: str):
    """Charge lines of the month neither on an invoice nor settled internally."""
    billed = InvoiceLine.objects.filter(charge_line=OuterRef("pk"), is_credit=False)
    settled = InternalTransfer.objects.filter(charge_line=OuterRef("pk"))
    return ChargeLine.objects.filter(period=period).exclude(Exists(billed)).exclude(Exists(settled))


def _settle_group(*, run: InvoiceRun, institution_id: int) -> int:
    """Charge lines an institution owes itself are not invoiced: each becomes an internal transfer from
    the paying funding account to the facility's income account. A line is settled once (unique), so a
    second or concurrent run adds nothing."""
    lines = list(
        unbilled_lines(run.period)
        .filter(issuer_id=institution_id, payer_id=institution_id, account__isnull=False)
        .select_related("booking", "charge__facility__income_account")
        .order_by("booking_id", "id")
    )
    tz = local_tz()
    transfers = []
    for line in lines:
        facility = line.charge.facility
        income = getattr(facility, "income_account", None)
        transfers.append(
            InternalTransfer(
                charge_line=line,
                run=run,
                institution_id=institution_id,
                period=run.period,
                date=timezone.localtime(line.booking.start, tz).date(),
                debit_account_id=line.account_id,
                credit_account=income.code if income else default_income_code(facility.code),
                facility=facility,
                booking_id=line.booking_id,
                amount=line.amount,
            )
        )
    with transaction.atomic():
        before = InternalTransfer.objects.filter(run=run).count()
        InternalTransfer.objects.bulk_create(transfers, batch_size=BATCH, ignore_conflicts=True)
        added = InternalTransfer.objects.filter(run=run).count() - before  # a concurrent run's are not ours
        run.processed += added
        run.lines_added += added
        run.save(update_fields=["processed", "lines_added"])
    return added


def _draft_for(*, issuer_id: int, payer_id: int, period: str, run: InvoiceRun) -> Invoice:
    lookup = dict(
        issuer_id=issuer_id, payer_id=payer_id, period=period, kind=InvoiceKind.INVOICE, status=InvoiceStatus.DRAFT
    )
    draft = Invoice.objects.select_for_update().filter(**lookup).first()
    if draft is None:
        try:
            with transaction.atomic():
                draft = Invoice.objects.create(run=run, **lookup)
        except IntegrityError:
            draft = Invoice.objects.select_for_update().get(**lookup)
    return draft


def _insert_lines(*, invoice_id: int, period: str, issuer_id: int, payer_id: int) -> int:
    """Copy the unbilled charge lines of one (issuer, payer, month) onto the invoice in one
    INSERT … SELECT: the rows never travel through Python, so 100,000 lines take a moment. Raw SQL because
    the ORM has no INSERT … SELECT (bulk_create would bring every row through Python)."""
    line, charge_line = InvoiceLine._meta.db_table, ChargeLine._meta.db_table
    sql = f"""
        INSERT INTO {line} (invoice_id, charge_line_id, booking_id, account_id, percent, amount, is_credit)
        SELECT %s, cl.id, cl.booking_id, cl.account_id, cl.percent, cl.amount, %s
        FROM {charge_line} cl
        WHERE cl.period = %s AND cl.issuer_id = %s AND cl.payer_id = %s
          AND NOT EXISTS (SELECT 1 FROM {line} il WHERE il.charge_line_id = cl.id AND il.is_credit = %s)
        ORDER BY cl.booking_id, cl.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [invoice_id, False, period, issuer_id, payer_id, False])
        return max(cursor.rowcount, 0)


def _bill_group(*, lease: Lease, issuer_id: int, payer_id: int) -> int:
    run = lease.run
    with transaction.atomic():
        # First, in the same transaction: still this process's run? (If not, nothing below is written.)
        lease.beat(force=True)
        draft = _draft_for(issuer_id=issuer_id, payer_id=payer_id, period=run.period, run=run)
        added = _insert_lines(invoice_id=draft.pk, period=run.period, issuer_id=issuer_id, payer_id=payer_id)
        if added:
            draft.total = draft.lines.aggregate(s=Sum("amount"))["s"] or ZERO
            draft.save(update_fields=["total"])
        elif not draft.lines.exists():
            draft.delete()  # nothing was left to bill: do not leave an empty draft behind
        run.processed += added
        run.lines_added += added
        run.invoices_touched += 1 if added else 0
        lease.save("processed", "lines_added", "invoices_touched")
    return added


def invoice_run_execute(*, run_id: int) -> InvoiceRun:
    """Carry out a recorded run. Safe to repeat and to resume: a finished run, or one a live process holds,
    is left as it is, and a run whose lines are all billed adds nothing (billing/services/runs.py)."""
    run = runs.claim(run_id)
    if run is None:
        return InvoiceRun.objects.get(pk=run_id)
    lease = runs.Lease(run)
    try:
        _charge_missing(run, lease)
        run.total = unbilled_lines(run.period).count()
        run.processed = 0
        lease.save("total", "processed", "charges_computed")
        groups = (
            unbilled_lines(run.period).values_list("issuer_id", "payer_id").distinct().order_by("issuer_id", "payer_id")
        )
        for issuer_id, payer_id in list(groups):
            if issuer_id == payer_id:  # one institution pays itself: an internal transfer, no invoice
                lease.beat(force=True)  # the run is alive, and still ours, before it settles the group
                _settle_group(run=run, institution_id=issuer_id)
                continue
            try:
                _bill_group(lease=lease, issuer_id=issuer_id, payer_id=payer_id)
            except IntegrityError:
                # A concurrent run billed these lines first: they are on an invoice, which is what we wanted.
                run.refresh_from_db(fields=["processed", "lines_added", "invoices_touched"])
                log.info("Run %s: lines of %s→%s billed by a concurrent run", run.pk, issuer_id, payer_id)
        lease.save(status=InvoiceRun.Status.DONE, finished_at=timezone.now(), lease="")
    except runs.RunTakenOver:
        log.warning("Invoice run %s was taken over by another process; this one stops.", run.pk)
        return InvoiceRun.objects.get(pk=run_id)
    except Exception as exc:
        try:
            lease.save(status=InvoiceRun.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now(), lease="")
        except runs.RunTakenOver:
            pass
        raise
    return run


def run_period(*, period: str, actor: User | None = None) -> InvoiceRun:
    """Record and carry out a run at once (management command, monthly task, demo seed)."""
    run = InvoiceRun.objects.create(period=parse_period(period), requested_by=actor)
    return invoice_run_execute(run_id=run.pk)


# --- the life of an invoice ------------------------------------------------------------------------------


def _lock_for_issuer(actor: User | None, invoice_id: int) -> Invoice:
    qs = Invoice.objects.all() if actor is None else invoices_visible_to(actor)
    invoice = qs.select_for_update(of=("self",)).filter(pk=invoice_id).first()
    if invoice is None:
        raise Http404(_("No such invoice, or you may not see it."))
    if actor is not None and not actor.is_superuser and invoice.issuer_id not in finance_institution_ids(actor):
        raise PermissionDenied(_("Only the issuer's finance staff may change this invoice."))
    return invoice


def _refuse(invoice: Invoice, verb: str) -> Conflict:
    label = invoice.number or _("draft invoice #%(pk)s") % {"pk": invoice.pk}
    return Conflict(
        "invalid_transition",
        _("%(label)s is %(status)s and cannot be %(verb)s.")
        % {"label": label, "status": invoice.get_status_display().lower(), "verb": verb},
    )


@records_actor
def invoice_issue(*, actor: User | None, invoice_id: int) -> Invoice:
    """Number and issue a draft; from now on it is never edited. Collect through Stripe when the issuer does."""
    with transaction.atomic():
        invoice = _lock_for_issuer(actor, invoice_id)
        if invoice.kind != InvoiceKind.INVOICE or not invoice.can_transition(InvoiceStatus.ISSUED):
            raise _refuse(invoice, pgettext("invoice action", "issued"))
        if not invoice.lines.exists():
            raise ValidationError(_("An invoice without lines cannot be issued."))
        invoice.number = next_number(issuer=invoice.issuer, year=timezone.localtime(timezone.now(), local_tz()).year)
        invoice.status = InvoiceStatus.ISSUED
        invoice.issued_at = timezone.now()
        invoice.issued_by = actor
        invoice.save(update_fields=["number", "status", "issued_at", "issued_by"])
        schedule_collection(invoice)
    return invoice


@records_actor
def invoice_void(*, actor: User | None, invoice_id: int, reason: str = "") -> Invoice:
    """Void a draft (its lines are freed for the next run) or an unpaid issued invoice (kept as it is,
    number included, for the record). A paid invoice is corrected with a credit note instead."""
    with transaction.atomic():
        invoice = _lock_for_issuer(actor, invoice_id)
        if not invoice.can_transition(InvoiceStatus.VOID):
            raise _refuse(invoice, pgettext("invoice action", "voided"))
        if invoice.payment_matches.exists():
            raise Conflict(
                "has_payments",
                _("%(number)s has bank payments applied to it; correct it with a credit note instead.")
                % {"number": invoice.number},
            )
        if invoice.status == InvoiceStatus.DRAFT:
            invoice.lines.all().delete()
            invoice.total = ZERO
        invoice.status = InvoiceStatus.VOID
        invoice.voided_at = timezone.now()
        invoice.reason = reason[:2000]
        invoice.save(update_fields=["status", "voided_at", "reason", "total"])
        schedule_remote_void(invoice)
    return invoice


@records_actor
def invoice_credit_note(*, actor: User | None, invoice_id: int, reason: str = "") -> Invoice:
    """Reverse an issued or paid invoice in full with a numbered credit note (negative lines)."""
    with transaction.atomic():
        original = _lock_for_issuer(actor, invoice_id)
        if not original.can_credit():
            raise _refuse(original, pgettext("invoice action", "credited"))
        if original.credit_notes.exists():
            raise Conflict("already_credited", _("%(number)s already has a credit note.") % {"number": original.number})
        note = Invoice.objects.create(
            kind=InvoiceKind.CREDIT_NOTE,
            credit_of=original,
            period=original.period,
            issuer_id=original.issuer_id,
            payer_id=original.payer_id,
            status=InvoiceStatus.ISSUED,
            issued_at=timezone.now(),
            issued_by=actor,
            reason=reason[:2000],
            number=next_number(issuer=original.issuer, year=timezone.localtime(timezone.now(), local_tz()).year),
        )
        InvoiceLine.objects.bulk_create(
            [
                InvoiceLine(
                    invoice=note,
                    charge_line_id=line.charge_line_id,
                    booking_id=line.booking_id,
                    account_id=line.account_id,
                    percent=line.percent,
                    amount=-line.amount,
                    is_credit=True,
                )
                for line in original.lines.all().iterator(chunk_size=BATCH)
            ],
            batch_size=BATCH,
        )
        note.total = note.lines.aggregate(s=Sum("amount"))["s"] or ZERO
        note.save(update_fields=["total"])
    return note


def invoice_mark_paid(*, invoice_id: int) -> Invoice | None:
    """Paid, as reported by the payment provider. Only an issued invoice becomes paid; a void one stays void."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().filter(pk=invoice_id).first()
        if invoice is None or not invoice.can_transition(InvoiceStatus.PAID):
            return invoice
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = timezone.now()
        invoice.save(update_fields=["status", "paid_at"])
    return invoice


def invoice_mark_void(*, invoice_id: int) -> Invoice | None:
    """Void, as reported by the payment provider; a paid invoice stays paid."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().filter(pk=invoice_id).first()
        if invoice is None or invoice.status != InvoiceStatus.ISSUED:
            return invoice
        invoice.status = InvoiceStatus.VOID
        invoice.voided_at = timezone.now()
        invoice.save(update_fields=["status", "voided_at"])
    return invoice
