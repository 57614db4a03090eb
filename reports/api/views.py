"""Thin adapters: parse the query, check who may read, call the selectors, shape the answer."""

from django.core import exceptions as django_exceptions
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from facilities.models import Facility, Institution
from facilities.models.tenants import Province

from .. import access, exports, rows, selectors
from ..periods import parse_period

FORMATS = ("json", "csv", "xlsx")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

PERIOD = OpenApiParameter(
    "period", str, required=True, description="A month (2026-10), quarter (2026-Q3) or year (2026)."
)
FACILITY = OpenApiParameter("facility", str, required=True, description="A facility code, e.g. SSRF.")
FORMAT = OpenApiParameter("format", str, enum=list(FORMATS), description="json (default), csv or xlsx.")


def facility_param(request) -> Facility:
    code = (request.query_params.get("facility") or "").strip()
    if not code:
        raise ValidationError({"facility": _("Name the facility by its code, e.g. ?facility=SSRF.")})
    facility = Facility.objects.select_related("host").filter(code__iexact=code).first()
    if facility is None:
        raise ValidationError({"facility": _("There is no facility with the code %(code)s.") % {"code": repr(code)}})
    return facility


def require(allowed: bool, what: str) -> None:
    # DRF's PermissionDenied keeps our words; Django's would be answered with a generic message.
    try:
        access.require(allowed, what)
    except django_exceptions.PermissionDenied as exc:
        raise PermissionDenied(str(exc)) from exc


class ReportView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    def perform_content_negotiation(self, request, force=False):
        # `format` here chooses the report's file type, not a DRF renderer; errors are always JSON.
        return JSONRenderer(), JSONRenderer.media_type


class SharingReport(ReportView):
    @extend_schema(parameters=[FACILITY, PERIOD, FORMAT], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        """Utilisation, shared hours, outside users served, revenue by user class and time-share use,
        per instrument of one facility, with the facility's totals; and `beamtime`, the figures of its calls
        for proposals whose cycle overlaps the period (oversubscription, cutoff grades, shifts awarded per
        institution and province, partner-share compliance); as JSON, CSV (instruments only) or XLSX."""
        fmt = (request.query_params.get("format") or "json").lower()
        if fmt not in FORMATS:
            raise ValidationError(
                {"format": _("%(fmt)s is not a report format; use json, csv or xlsx.") % {"fmt": repr(fmt)}}
            )
        facility = facility_param(request)
        period = parse_period(request.query_params.get("period"))
        require(
            access.may_read_facility(request.user, facility), _("the reports of %(code)s") % {"code": facility.code}
        )
        report = selectors.facility_report(facility, period)
        if fmt == "csv":
            body, content_type = exports.as_csv(report), "text/csv; charset=utf-8"
        else:
            # Beamtime awarded by proposal: the figures of each call whose cycle overlaps the period.
            from ..proposals import beamtime_figures

            beamtime = beamtime_figures(facility, period)
            if fmt == "json":
                return Response({**rows.facility_document(report), "beamtime": beamtime})
            body, content_type = exports.as_xlsx(report, beamtime=beamtime), XLSX
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{exports.filename(report, fmt)}"'
        return response


class FairnessReport(ReportView):
    @extend_schema(parameters=[FACILITY, PERIOD], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        """Per instrument, each requesting institution's share of the booked hours; and the waiting time
        from request to decision by institution, internal against outside."""
        facility = facility_param(request)
        period = parse_period(request.query_params.get("period"))
        require(
            access.may_read_facility(request.user, facility), _("the reports of %(code)s") % {"code": facility.code}
        )
        return Response(rows.fairness_document(selectors.fairness_report(facility, period)))


class InstitutionRollUp(ReportView):
    @extend_schema(parameters=[PERIOD], responses={200: OpenApiTypes.OBJECT})
    def get(self, request, code: str):
        """Every facility the institution hosts, and their totals."""
        institution = Institution.objects.filter(code__iexact=code).first()
        if institution is None:
            raise NotFound(_("There is no institution with the code %(code)s.") % {"code": repr(code)})
        period = parse_period(request.query_params.get("period"))
        if not access.may_read_institution(request.user, institution):
            raise PermissionDenied(
                _(
                    "You may not read the roll-up of %(code)s: it is open to that "
                    "institution's administrators and platform administrators."
                )
                % {"code": institution.code}
            )
        roll_up = selectors.institution_roll_up(institution, period)
        return Response(
            rows.roll_up_document(roll_up, institution={"code": institution.code, "name": institution.name})
        )


class ProvinceRollUp(ReportView):
    @extend_schema(parameters=[PERIOD], responses={200: OpenApiTypes.OBJECT})
    def get(self, request, province: str):
        """Every facility in a province, and their totals: platform administrators only."""
        if province not in Province.values:
            raise NotFound(
                _("There is no province %(province)s; use one of %(value)s.")
                % {"province": repr(province), "value": ", ".join(Province.values)}
            )
        period = parse_period(request.query_params.get("period"))
        if not access.may_read_province(request.user):
            raise PermissionDenied(_("A province's roll-up is open to platform administrators only."))
        return Response(rows.roll_up_document(selectors.province_roll_up(province, period), province=province))


class CallFigures(ReportView):
    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["json", "xlsx"], description="json (default) or xlsx.")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, pk: int):
        """Figures of one call for proposals: oversubscription and cutoff grade per instrument, shifts
        awarded per institution and province, partner-share compliance of co-built instruments. For the
        facility's report readers and its user office."""
        from proposals.models import Call
        from proposals.selectors import runs_calls_of

        from ..proposals import call_figures, call_xlsx

        fmt = (request.query_params.get("format") or "json").lower()
        if fmt not in ("json", "xlsx"):
            raise ValidationError(
                {"format": _("%(fmt)s is not a format of this report; use json or xlsx.") % {"fmt": repr(fmt[:20])}}
            )
        call = Call.objects.select_related("facility", "facility__host").filter(pk=pk).first()
        if call is None:
            raise NotFound(_("No such call."))
        allowed = access.may_read_facility(request.user, call.facility) or runs_calls_of(request.user, call.facility_id)
        require(
            allowed, _("the figures of %(facility)s %(call)s") % {"facility": call.facility.code, "call": call.code}
        )
        figures = call_figures(call)
        if fmt == "json":
            return Response(figures)
        response = HttpResponse(call_xlsx(figures), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{call.facility.code}-{call.code}-proposals.xlsx"'
        return response
