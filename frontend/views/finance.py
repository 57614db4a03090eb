"""The finance console: invoice runs with their progress, invoices and credit notes, exports (billing's
own export URLs) and charts of how the cost is shared: by payer institution, by facility, by month."""

import datetime as dt
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_POST

from common.errors import Conflict

from ..errors import attach, messages_of
from .access import role_required
from .receivables import invoice_payment_context, receivables_context

FINANCE = ("finance", "platform_admin")
RUNS_SHOWN = 10
INVOICES_SHOWN = 200
MONTHS_CHARTED = 6
CLAIMS_SHOWN = 100


def finance_available() -> bool:
    """Whether the billing app offers what the console shows (invoices) on this installation."""
    try:
        from billing import selectors  # noqa: F401
        from billing.services.invoicing import invoice_run_start  # noqa: F401
    except ImportError:
        return False
    return True


class RunForm(forms.Form):
    period = forms.CharField(
        label=_l("Month"), max_length=7, widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-10"})
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_l("Reason"), required=False, max_length=2000)


def last_month() -> str:
    today = timezone.localdate()
    prev = today.replace(day=1) - dt.timedelta(days=1)
    return f"{prev.year}-{prev.month:02d}"


def _months_back(period: str, n: int) -> list[str]:
    year, month = int(period[:4]), int(period[5:])
    out = []
    for _i in range(n):
        out.append(f"{year}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out[::-1]


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above `value` (at least 1), so axis ticks are round."""
    value = max(abs(value), Decimal(1))
    magnitude = Decimal(10) ** (len(str(int(value))) - 1)
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if magnitude * step >= value:
            return magnitude * step
    return magnitude * 10  # pragma: no cover - the loop always returns


def bars(rows: list[tuple[str, Decimal]], width: int = 320) -> dict:
    """Horizontal bars for an inline SVG chart on an axis in yuan from 0 to a round value at or above the
    largest absolute amount, with five ticks; negative amounts (credit notes) are drawn in another colour."""
    top = nice_ceiling(max((abs(v) for _, v in rows), default=Decimal(0)))
    items = []
    for i, (label, value) in enumerate(rows):
        w = round(float(abs(value) / top) * width, 1)
        items.append({"label": label, "value": value, "y": 26 * i + 4, "ty": 26 * i + 19, "w": w, "tx": w + 186})
    axis_y = 26 * len(items) + 6
    ticks = [{"x": 180 + width * k // 4, "value": top * k / 4} for k in range(5)]
    return {
        "items": items,
        "axis_y": axis_y,
        "axis_end": 180 + width,
        "ticks": ticks,
        "tick_label_y": axis_y + 15,
        "title_y": axis_y + 32,
        "height": axis_y + 40,
    }


def sharing_charts(user, period: str) -> dict:
    """Sums of non-void invoice lines the user may see: per payer and per facility for `period`, and
    per month for the months up to it. Credit notes count with their negative lines."""
    from billing.models import InvoiceLine
    from billing.selectors import invoices_visible_to

    visible = invoices_visible_to(user).exclude(status="void").values("pk")
    lines = InvoiceLine.objects.filter(invoice__in=visible)
    months = _months_back(period, MONTHS_CHARTED)
    by_payer = (
        lines.filter(invoice__period=period).values("invoice__payer__code").annotate(s=Sum("amount")).order_by("-s")
    )
    by_facility = (
        lines.filter(invoice__period=period)
        .values("charge_line__charge__facility__code")
        .annotate(s=Sum("amount"))
        .order_by("-s")
    )
    by_month = dict(lines.filter(invoice__period__in=months).values_list("invoice__period").annotate(s=Sum("amount")))
    return {
        "payer": bars([(r["invoice__payer__code"], r["s"]) for r in by_payer]),
        "facility": bars([(r["charge_line__charge__facility__code"], r["s"]) for r in by_facility]),
        "month": bars([(m, by_month.get(m, Decimal("0.00"))) for m in months]),
    }


def runs_with_counts(user) -> list:
    from billing.selectors import runs_with_visible_invoice_counts

    return list(runs_with_visible_invoice_counts(user).order_by("-created_at")[:RUNS_SHOWN])


def _context(request, period: str, run_form=None):
    from billing.selectors import invoices_visible_to

    runs = runs_with_counts(request.user)
    invoices = list(
        invoices_visible_to(request.user)
        .filter(period=period)
        .order_by("issuer__code", "payer__code", "kind", "id")[:INVOICES_SHOWN]
    )
    return {
        "nav": "finance",
        "period": period,
        "runs": runs,
        "invoices": invoices,
        "active": runs_active(runs),
        "run_form": run_form or RunForm(initial={"period": period}),
        "charts": sharing_charts(request.user, period),
        "reason_form": ReasonForm(),
        "mine": _my_institutions(request.user),
        "vouchers": voucher_report(request.user, int(period[:4])),
        **receivables_context(request.user),
    }


def voucher_report(user, year: int) -> dict:
    """Voucher redemptions of the year the user may see, per issuing authority and facility province."""
    from billing.exports.vouchers import redemption_summary
    from billing.selectors import redemptions_visible_to

    visible = redemptions_visible_to(user).filter(year=year)
    rows = redemption_summary(visible)
    mine = _my_institutions(user)
    claims = [
        {
            "claim": claim,
            "may_submit": (user.is_superuser or claim.holder_id in mine) and claim.status == "pending",
            "may_decide": (user.is_superuser or claim.agency_id in mine) and claim.status in ("submitted", "approved"),
        }
        for claim in visible.filter(mode="tongyong").order_by("-period", "id")[:CLAIMS_SHOWN]
    ]
    return {"year": year, "rows": rows, "total": sum((r["amount"] for r in rows), Decimal("0.00")), "claims": claims}


@require_POST
@role_required(*FINANCE)
def claim_action(request, pk: int, action: str):
    """Submit, approve, mark reimbursed or refuse a 通用 voucher claim (billing's services decide who may)."""
    from django.http import Http404

    from billing.services import vouchers

    steps = {
        "submit": lambda: vouchers.claim_submit(actor=request.user, redemption_id=pk),
        "approve": lambda: vouchers.claim_approve(actor=request.user, redemption_id=pk),
        "reimburse": lambda: vouchers.claim_reimburse(actor=request.user, redemption_id=pk),
        "refuse": lambda: vouchers.claim_refuse(
            actor=request.user, redemption_id=pk, reason=str(request.POST.get("reason", ""))[:2000]
        ),
    }
    if action not in steps:
        raise Http404(_("No such action."))
    try:
        claim = steps[action]()
        messages.success(request, _("Voucher claim #%(n)s: %(s)s.") % {"n": claim.pk, "s": claim.get_status_display()})
        period = claim.period
    except (ValidationError, Conflict) as exc:  # 403 and 404 pass on to their pages
        for _field, text in messages_of(exc):
            messages.error(request, text)
        period = _period(request)
    return redirect(reverse("frontend:finance") + f"?period={period}#vouchers-h")


def _my_institutions(user) -> set[int]:
    from billing.selectors import finance_institution_ids

    return finance_institution_ids(user)


def _period(request) -> str:
    from billing.periods import parse_period

    try:
        return parse_period(request.GET.get("period") or last_month())
    except ValidationError:
        return last_month()


@role_required(*FINANCE)
def finance(request):
    return render(request, "frontend/finance/console.html", _context(request, _period(request)))


@role_required(*FINANCE)
def runs_fragment(request):
    runs = runs_with_counts(request.user)
    return render(request, "frontend/finance/runs.html", {"runs": runs, "active": runs_active(runs)})


def runs_active(runs) -> bool:
    """Whether the list should keep refreshing itself: a run is under way, and its process is alive."""
    return any(r.status in ("pending", "running") and not r.is_stale for r in runs)


@require_POST
@role_required(*FINANCE)
def resume_run(request, pk: int):
    from billing.services.runs import invoice_run_resume

    try:
        run = invoice_run_resume(run_id=pk, actor=request.user)
    except Conflict as exc:
        messages.error(request, exc.detail)
        return redirect(reverse("frontend:finance"))
    messages.success(request, _("The invoice run for %(p)s has been resumed.") % {"p": run.period})
    return redirect(reverse("frontend:finance") + f"?period={run.period}")


@require_POST
@role_required(*FINANCE)
def run_invoices(request):
    from billing.services.invoicing import invoice_run_start

    form = RunForm(request.POST)
    if form.is_valid():
        try:
            run = invoice_run_start(period=form.cleaned_data["period"], actor=request.user)
            messages.success(request, _("The invoice run for %(p)s has started.") % {"p": run.period})
            return redirect(reverse("frontend:finance") + f"?period={run.period}")
        except ValidationError as exc:
            attach(form, exc)
    return render(request, "frontend/finance/console.html", _context(request, last_month(), run_form=form), status=400)


@role_required(*FINANCE)
def invoice_detail(request, pk: int):
    from django.http import Http404

    from billing.selectors import invoice_lines, invoices_visible_to

    invoice = invoices_visible_to(request.user).filter(pk=pk).first()
    if invoice is None:
        raise Http404(_("No such invoice, or you may not see it."))
    lines = list(invoice_lines(invoice).select_related("booking__instrument__facility"))
    return render(
        request,
        "frontend/finance/invoice.html",
        {
            "nav": "finance",
            "invoice": invoice,
            "lines": lines,
            "reason_form": ReasonForm(),
            "is_issuer": request.user.is_superuser or invoice.issuer_id in _my_institutions(request.user),
            "credit_notes": list(invoice.credit_notes.all()),
            **invoice_payment_context(request.user, invoice),
        },
    )


@require_POST
@role_required(*FINANCE)
def invoice_action(request, pk: int, action: str):
    from django.http import Http404

    from billing.services import invoicing

    if action not in ("issue", "void", "credit-note"):
        raise Http404(_("No such action."))
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        if action == "issue":
            result = invoicing.invoice_issue(actor=request.user, invoice_id=pk)
        elif action == "void":
            result = invoicing.invoice_void(actor=request.user, invoice_id=pk, reason=reason)
        else:
            result = invoicing.invoice_credit_note(actor=request.user, invoice_id=pk, reason=reason)
        words = {
            "issue": _("Invoice %(n)s is issued."),
            "void": _("The invoice is void."),
            "credit-note": _("Credit note %(n)s is issued."),
        }[action]
        messages.success(request, words % {"n": result.number or ""})
        target = result.pk
    except (ValidationError, Conflict) as exc:  # 403 and 404 pass on to their pages
        for _field, text in messages_of(exc):
            messages.error(request, text)
        target = pk
    return redirect("frontend:invoice", pk=target)
