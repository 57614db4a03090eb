"""Thin adapters from HTTP to billing's services and selectors."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from facilities.models import Institution
from facilities.selectors import groups_visible_to

from ..exports.documents import FORMATS, invoice_export, ledger_export
from ..models import Invoice, InvoiceLine
from ..periods import parse_period
from ..selectors import finance_institution_ids, group_spending, invoices_visible_to, ledger_lines, runs_visible_to
from ..services import invoicing, runs
from .serializers import InvoiceRunSerializer, InvoiceSerializer, PeriodSerializer, ReasonSerializer


class FileNegotiation(BaseContentNegotiation):
    """`?format=` names the file format here, not a DRF renderer."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _format(request, allowed=FORMATS) -> str:
    fmt = request.query_params.get("format", "csv").lower()
    if fmt not in allowed:
        raise ValidationError(
            {"format": _("Choose one of %(value)s; got %(fmt)s.") % {"value": ", ".join(allowed), "fmt": repr(fmt)}}
        )
    return fmt


def _with_lines(qs):
    return qs.prefetch_related(
        Prefetch(
            "lines",
            queryset=InvoiceLine.objects.select_related(
                "account", "charge_line__voucher", "charge_line__charge"
            ).order_by("booking_id", "id"),
        )
    )


def books_of(request, what: str) -> Institution:
    """The institution whose books (`what`: ledger, journal) the finance user asks for: `?institution=`,
    or their only one."""
    mine = finance_institution_ids(request.user)
    code = request.query_params.get("institution")
    if code:
        institution = Institution.objects.filter(code__iexact=code).first()
        if institution is None or not (request.user.is_superuser or institution.pk in mine):
            raise Http404(_("No such institution, or you do not keep its books."))
        return institution
    if len(mine) == 1:
        return Institution.objects.get(pk=next(iter(mine)))
    if not mine and not request.user.is_superuser:
        raise PermissionDenied(_("Only finance staff may export a %(what)s.") % {"what": what})
    raise ValidationError(
        {"institution": _("Name the institution (its code) whose %(what)s you want.") % {"what": what}}
    )


class InvoiceRunCreateView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=PeriodSerializer, responses={202: InvoiceRunSerializer})
    def post(self, request):
        if not isinstance(request.data, dict):
            raise ValidationError(_('Send a JSON object such as {"period": "2026-10"}.'))
        run = invoicing.invoice_run_start(period=parse_period(request.data.get("period")), actor=request.user)
        run.refresh_from_db()  # without a broker the run has already happened, after the commit
        return Response(InvoiceRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class InvoiceRunDetailView(generics.RetrieveAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = InvoiceRunSerializer

    def get_queryset(self):
        return runs_visible_to(self.request.user)


class InvoiceRunResumeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={202: InvoiceRunSerializer},
        description="Carry out a failed or stale run again (its process stopped): what it billed stays billed, "
        "the rest is billed now. 409 `invalid_transition` for a run that is done, `run_in_progress` for one "
        "whose process is alive.",
    )
    def post(self, request, pk: int):
        run = runs.invoice_run_resume(run_id=pk, actor=request.user)
        run.refresh_from_db()  # without a broker the run has already happened, after the commit
        return Response(InvoiceRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class InvoiceListView(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = InvoiceSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, description="YYYY-MM"),
            OpenApiParameter("status", str, enum=[s for s, _ in Invoice.Status.choices]),
            OpenApiParameter(
                "role", str, enum=["issuer", "payer"], description="Only invoices the institution issued, or owes"
            ),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = invoices_visible_to(self.request.user)
        params = self.request.query_params
        if params.get("period"):
            qs = qs.filter(period=parse_period(params["period"]))
        if params.get("status"):
            if params["status"] not in Invoice.Status.values:
                raise ValidationError(
                    {"status": _("Choose one of %(value)s.") % {"value": ", ".join(Invoice.Status.values)}}
                )
            qs = qs.filter(status=params["status"])
        role = params.get("role")
        if role in ("issuer", "payer"):
            qs = qs.filter(**{f"{role}_id__in": finance_institution_ids(self.request.user)})
        elif role:
            raise ValidationError({"role": _("Choose issuer or payer.")})
        return _with_lines(qs).order_by("-period", "issuer__code", "payer__code", "id")


class InvoiceDetailView(generics.RetrieveAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = InvoiceSerializer

    def get_queryset(self):
        return _with_lines(invoices_visible_to(self.request.user))


class _InvoiceAction(APIView):
    permission_classes = [IsAuthenticated]
    created: int = status.HTTP_200_OK  # the status of a successful answer

    def act(self, request, pk: int, reason: str) -> Invoice:
        raise NotImplementedError

    @extend_schema(request=ReasonSerializer, responses={200: InvoiceSerializer})
    def post(self, request, pk: int):
        reason = request.data.get("reason", "") if isinstance(request.data, dict) else ""
        if not isinstance(reason, str):
            raise ValidationError({"reason": _("The reason is text.")})
        invoice = self.act(request, pk, reason)
        invoice = _with_lines(Invoice.objects.select_related("issuer", "payer")).get(pk=invoice.pk)
        return Response(InvoiceSerializer(invoice).data, status=self.created)


class InvoiceIssueView(_InvoiceAction):
    def act(self, request, pk, reason):
        return invoicing.invoice_issue(actor=request.user, invoice_id=pk)


class InvoiceVoidView(_InvoiceAction):
    def act(self, request, pk, reason):
        return invoicing.invoice_void(actor=request.user, invoice_id=pk, reason=reason)


class InvoiceCreditNoteView(_InvoiceAction):
    created = status.HTTP_201_CREATED

    def act(self, request, pk, reason):
        return invoicing.invoice_credit_note(actor=request.user, invoice_id=pk, reason=reason)


class InvoiceExportView(APIView):
    permission_classes = [IsAuthenticated]
    content_negotiation_class = FileNegotiation

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(FORMATS))], responses={(200, "text/csv"): bytes}
    )
    def get(self, request, pk: int):
        fmt = _format(request)
        invoice = invoices_visible_to(request.user).filter(pk=pk).first()
        if invoice is None:
            raise Http404(_("No such invoice, or you may not see it."))
        return invoice_export(invoice, fmt)


class LedgerView(APIView):
    """All lines of the month's invoices the institution issued (receivable) or owes (payable)."""

    permission_classes = [IsAuthenticated]
    content_negotiation_class = FileNegotiation

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, required=True, description="YYYY-MM"),
            OpenApiParameter("format", str, enum=["csv", "xlsx"]),
            OpenApiParameter("institution", str, description="Institution code, when you keep the books of several"),
        ],
        responses={(200, "text/csv"): bytes},
    )
    def get(self, request):
        period = parse_period(request.query_params.get("period"))
        fmt = _format(request, ("csv", "xlsx"))
        institution = books_of(request, _("ledger"))
        return ledger_export(
            institution=institution,
            period=period,
            lines=ledger_lines(institution_id=institution.pk, period=period),
            fmt=fmt,
        )


class GroupSpendingView(APIView):
    """GET groups/{id}/spending/: this month's spending of a research group's people on each of the
    group's accounts (charged, and the estimate of bookings still held). For those who may see the group."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={
            200: inline_serializer(
                "GroupSpending",
                {
                    "account": serializers.CharField(),
                    "month": serializers.CharField(),
                    "charged": serializers.DecimalField(max_digits=14, decimal_places=2),
                    "held_estimate": serializers.DecimalField(max_digits=14, decimal_places=2),
                    "total": serializers.DecimalField(max_digits=14, decimal_places=2),
                },
                many=True,
            )
        }
    )
    def get(self, request, pk: int):
        group = groups_visible_to(request.user).filter(pk=pk).first()
        if group is None:
            raise Http404(_("No such research group."))
        return Response(group_spending(group, now=timezone.now()))
