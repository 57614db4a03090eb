"""Thin adapters from HTTP to internal settlement and vouchers: the journal export, voucher redemptions
and 通用 claims (list, detail, submit / approve / reimburse / refuse, evidence pack), and the report of
redemptions per issuing authority and province."""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from common.parsing import query_int

from ..exports.vouchers import evidence_pack, journal_export, redemption_summary, redemptions_xlsx
from ..models import RedemptionStatus, VoucherMode
from ..periods import parse_period
from ..selectors import journal_lines, redemptions_visible_to
from ..services import vouchers
from .serializers import ReasonSerializer, RedemptionSerializer, RedemptionSummarySerializer, money
from .views import FileNegotiation, _format, books_of


class JournalView(APIView):
    """The month's internal transfers of an institution as journal lines for its finance system."""

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
        institution = books_of(request, _("journal"))
        transfers = journal_lines(institution_id=institution.pk, period=period)
        return journal_export(institution=institution, period=period, transfers=transfers, fmt=fmt)


def _year(request, *, required: bool = False) -> int | None:
    return query_int(request, "year", minimum=2000, maximum=2100, required=required)


def _filtered(request):
    qs = redemptions_visible_to(request.user)
    params = request.query_params
    year = _year(request)
    if year is not None:
        qs = qs.filter(year=year)
    if params.get("status"):
        if params["status"] not in RedemptionStatus.values:
            raise ValidationError(
                {"status": _("Choose one of %(value)s.") % {"value": ", ".join(RedemptionStatus.values)}}
            )
        qs = qs.filter(status=params["status"])
    if params.get("mode"):
        if params["mode"] not in VoucherMode.values:
            raise ValidationError({"mode": _("Choose one of %(value)s.") % {"value": ", ".join(VoucherMode.values)}})
        qs = qs.filter(mode=params["mode"])
    return qs


class RedemptionListView(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = RedemptionSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("year", int),
            OpenApiParameter("status", str, enum=list(RedemptionStatus.values)),
            OpenApiParameter("mode", str, enum=list(VoucherMode.values)),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return _filtered(self.request).order_by("-period", "id")


class RedemptionDetailView(generics.RetrieveAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = RedemptionSerializer

    def get_queryset(self):
        return redemptions_visible_to(self.request.user)


class _ClaimAction(APIView):
    permission_classes = [IsAuthenticated]

    def act(self, request, pk: int, reason: str):
        raise NotImplementedError

    @extend_schema(request=ReasonSerializer, responses={200: RedemptionSerializer})
    def post(self, request, pk: int):
        reason = request.data.get("reason", "") if isinstance(request.data, dict) else ""
        if not isinstance(reason, str):
            raise ValidationError({"reason": _("The reason is text.")})
        claim = self.act(request, pk, reason)
        claim = redemptions_visible_to(request.user).get(pk=claim.pk)
        return Response(RedemptionSerializer(claim).data)


class ClaimSubmitView(_ClaimAction):
    def act(self, request, pk, reason):
        return vouchers.claim_submit(actor=request.user, redemption_id=pk)


class ClaimApproveView(_ClaimAction):
    def act(self, request, pk, reason):
        return vouchers.claim_approve(actor=request.user, redemption_id=pk)


class ClaimReimburseView(_ClaimAction):
    def act(self, request, pk, reason):
        return vouchers.claim_reimburse(actor=request.user, redemption_id=pk)


class ClaimRefuseView(_ClaimAction):
    def act(self, request, pk, reason):
        return vouchers.claim_refuse(actor=request.user, redemption_id=pk, reason=reason)


class EvidencePackView(APIView):
    """The evidence pack of a 通用 claim: a ZIP of the contract, the service record and the invoice PDFs."""

    permission_classes = [IsAuthenticated]
    content_negotiation_class = FileNegotiation

    @extend_schema(responses={(200, "application/zip"): bytes})
    def get(self, request, pk: int):
        claim = (
            redemptions_visible_to(request.user)
            .select_related("charge__booking__instrument", "charge__booking__requester", "charge__issuer")
            .filter(pk=pk, mode=VoucherMode.TONGYONG)
            .first()
        )
        if claim is None:
            raise Http404(_("No such voucher claim, or you may not see it."))
        return evidence_pack(claim)


class RedemptionReportView(APIView):
    """Redemptions per issuing authority, facility province and mode (refused claims not counted)."""

    permission_classes = [IsAuthenticated]
    content_negotiation_class = FileNegotiation

    @extend_schema(
        parameters=[
            OpenApiParameter("year", int, required=True),
            OpenApiParameter("format", str, enum=["json", "xlsx"]),
        ],
        responses={
            200: OpenApiResponse(RedemptionSummarySerializer(many=True)),
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): bytes,
        },
    )
    def get(self, request):
        year = _year(request, required=True)
        assert year is not None
        fmt = _format(request, ("json", "xlsx")) if request.query_params.get("format") else "json"
        qs = redemptions_visible_to(request.user).filter(year=year)
        if fmt == "xlsx":
            return redemptions_xlsx(year=year, redemptions=qs)
        rows = [
            {
                "agency": r["agency__code"],
                "province": r["province"],
                "mode": r["mode"],
                "count": r["count"],
                "amount": money(r["amount"]),
            }
            for r in redemption_summary(qs)
        ]
        return Response({"year": year, "results": rows})
