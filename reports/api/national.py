"""The national and provincial platforms' data over HTTP, for platforms that pull and for people who file
by hand: the catalog of instruments that must be reported and the service records of a period, as
paginated JSON or as the platforms' import files. Thin adapters over `reports.national`."""

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied

from common.api import Pagination
from common.time import iso_local
from facilities.models import Facility, Institution

from .. import access, national, national_exports
from ..periods import parse_period
from ..selectors import hours
from .views import PERIOD, XLSX, ReportView, facility_param, require

FILE_FORMATS = ("json", "csv", "xlsx")
TEMPLATES = tuple(national_exports.RECORD_TEMPLATES)

SCOPE = [
    OpenApiParameter("facility", str, description="A facility code, e.g. SSRF: that facility only."),
    OpenApiParameter(
        "institution", str, description="An institution code, e.g. USTC: every facility it hosts (its administrators)."
    ),
]
FILE_FORMAT = OpenApiParameter(
    "format", str, enum=list(FILE_FORMATS), description="json (default, paginated), or the import file: csv or xlsx."
)
TEMPLATE = OpenApiParameter(
    "template",
    str,
    enum=list(TEMPLATES),
    description="The file's template: national (default) or zhejiang (the Zhejiang platform's import template).",
)


class ContactSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()


class CatalogItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    facility = serializers.CharField(help_text="Facility code.")
    host = serializers.CharField(help_text="Host institution code.")
    name = serializers.CharField()
    name_zh = serializers.CharField()
    registry_number = serializers.CharField(help_text="Number on the national platform (国家平台仪器编号).")
    local_number = serializers.CharField(help_text="FACILITY/INSTRUMENT: the number inside the institution.")
    classification_code = serializers.CharField(help_text="GB/T 32847 code (分类编码).")
    classification_zh = serializers.CharField()
    original_value = serializers.CharField(help_text="Yuan, two decimals (原值).")
    commissioning_date = serializers.CharField(allow_null=True, help_text="YYYY-MM-DD (启用日期).")
    specifications = serializers.CharField()
    main_functions = serializers.CharField()
    disciplines = serializers.CharField()
    service_content = serializers.CharField()
    sharing_rules = serializers.CharField()
    fees_zh = serializers.CharField(help_text="The fee schedule as filed (收费标准).")
    rates = serializers.DictField(child=serializers.CharField(), help_text="Published hourly rates by user class.")
    booking_url = serializers.CharField(help_text="The instrument's page on this site (预约网址).")
    location = serializers.CharField()
    contact = ContactSerializer()
    sharing_mode = serializers.ChoiceField(choices=list(national.SHARING_MODE_ZH))
    illustrative = serializers.CharField(help_text="Which values are illustrative rather than public facts.")


class CatalogPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = CatalogItemSerializer(many=True)


class RecordSerializer(serializers.Serializer):
    booking = serializers.IntegerField(allow_null=True, help_text="The booking; null for a walk-up session.")
    facility = serializers.CharField()
    instrument = serializers.IntegerField()
    instrument_code = serializers.CharField()
    instrument_name = serializers.CharField()
    instrument_name_zh = serializers.CharField()
    registry_number = serializers.CharField()
    user = serializers.CharField(help_text="Username of the requester.")
    user_name = serializers.CharField()
    institution = serializers.CharField(help_text="Institution code.")
    institution_name = serializers.CharField()
    institution_name_zh = serializers.CharField()
    user_type = serializers.ChoiceField(choices=list(national.USER_TYPE_ZH))
    start = serializers.CharField(help_text="Start of recorded use, +08:00.")
    end = serializers.CharField(help_text="End of recorded use, +08:00.")
    used_hours = serializers.CharField(help_text="Used hours within the period, two decimals.")
    content = serializers.CharField(help_text="The booking's purpose (服务内容); empty for a walk-up.")
    fee = serializers.CharField(help_text="The usage charge in yuan, if it falls in the period's months.")


class RecordTotalsSerializer(serializers.Serializer):
    records = serializers.IntegerField()
    used_hours = serializers.CharField(help_text="Equals the sharing report's used hours.")
    fees = serializers.CharField(help_text="Equals the sharing report's revenue less no-show and late fees.")


class RecordPageSerializer(CatalogPageSerializer):
    results = RecordSerializer(many=True)  # type: ignore[assignment]
    period = serializers.DictField()
    totals = RecordTotalsSerializer()


def national_scope(request) -> tuple[list[Facility], str]:
    """The facilities asked for, and a label for file names; 403 unless the user may read them all."""
    facility_code = (request.query_params.get("facility") or "").strip()
    institution_code = (request.query_params.get("institution") or "").strip()
    if facility_code and institution_code:
        raise ValidationError({"institution": _("Name a facility or an institution, not both.")})
    if facility_code:
        facility = facility_param(request)
        require(
            access.may_read_facility(request.user, facility),
            _("the sharing data of %(code)s") % {"code": facility.code},
        )
        return [facility], facility.code
    if institution_code:
        institution = Institution.objects.filter(code__iexact=institution_code).first()
        if institution is None:
            raise ValidationError(
                {
                    "institution": _("There is no institution with the code %(institution_code)s.")
                    % {"institution_code": repr(institution_code[:40])}
                }
            )
        if not access.may_read_institution(request.user, institution):
            raise PermissionDenied(
                _(
                    "You may not read the sharing data of %(code)s: it is open to that "
                    "institution's administrators and platform administrators."
                )
                % {"code": institution.code}
            )
        return list(Facility.objects.filter(host=institution).select_related("host").order_by("code")), institution.code
    facilities = list(access.readable_facilities(request.user).select_related("host").order_by("code"))
    require(bool(facilities), _("any facility's sharing data"))
    return facilities, "all"


def _choice(request, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = (request.query_params.get(name) or default).strip().lower()
    if value not in allowed:
        raise ValidationError(
            {
                name: _("%(value)s is not allowed; use one of %(value2)s.")
                % {"value": repr(value[:40]), "value2": ", ".join(allowed)}
            }
        )
    return value


def _file(body: bytes, fmt: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/csv; charset=utf-8" if fmt == "csv" else XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def catalog_item(e: national.CatalogEntry) -> dict:
    i, r = e.instrument, e.registration
    return {
        "id": i.pk,
        "code": i.code,
        "facility": i.facility.code,
        "host": i.facility.host.code,
        "name": i.name,
        "name_zh": i.name_zh,
        "registry_number": r.registry_number,
        "local_number": national_exports.local_number(i),
        "classification_code": r.classification_code,
        "classification_zh": national.classification_name(r.classification_code),
        "original_value": str(r.original_value),
        "commissioning_date": r.commissioning_date.isoformat() if r.commissioning_date else None,
        "specifications": r.specifications,
        "main_functions": r.main_functions,
        "disciplines": r.disciplines,
        "service_content": r.service_content,
        "sharing_rules": r.sharing_rules,
        "fees_zh": e.fees_zh,
        "rates": {c: str(v) for c, v in sorted(e.rates.items())},
        "booking_url": e.booking_url,
        "location": r.location,
        "contact": {"name": r.contact_name, "phone": r.contact_phone, "email": r.contact_email},
        "sharing_mode": r.sharing_mode,
        "illustrative": r.illustrative,
    }


def record_item(r: national.ServiceRecord) -> dict:
    return {
        "booking": r.booking.pk if r.booking else None,
        "facility": r.instrument.facility.code,
        "instrument": r.instrument.pk,
        "instrument_code": r.instrument.code,
        "instrument_name": r.instrument.name,
        "instrument_name_zh": r.instrument.name_zh,
        "registry_number": national_exports.registry_number(r.instrument),
        "user": r.requester.username if r.requester else "",
        "user_name": national_exports.user_name(r),
        "institution": r.institution.code,
        "institution_name": r.institution.name,
        "institution_name_zh": r.institution.name_zh,
        "user_type": r.user_type,
        "start": iso_local(r.used_start),
        "end": iso_local(r.used_end),
        "used_hours": str(r.used_hours),
        "content": r.purpose,
        "fee": str(r.fee),
    }


class NationalCatalog(ReportView):
    @extend_schema(parameters=[*SCOPE, FILE_FORMAT], responses={200: CatalogPageSerializer})
    def get(self, request):
        """The instruments that must be reported to the national platform (original value of 500,000 CNY
        or more), with the platform's fields; or the national catalog file (CSV or XLSX, Chinese field
        names). Facility managers for their facilities, institution administrators for their
        institution's, platform administrators for all; without `facility` or `institution`, every
        facility the caller may read."""
        fmt = _choice(request, "format", FILE_FORMATS, "json")
        facilities, scope = national_scope(request)
        entries = national.catalog_entries(facilities)
        if fmt != "json":
            body = national_exports.catalog_file(entries, fmt)
            return _file(body, fmt, national_exports.catalog_filename(scope, fmt))
        paginator = Pagination()
        page = paginator.paginate_queryset(entries, request, view=self) or []
        return paginator.get_paginated_response([catalog_item(e) for e in page])


class NationalServiceRecords(ReportView):
    @extend_schema(parameters=[*SCOPE, PERIOD, FILE_FORMAT, TEMPLATE], responses={200: RecordPageSerializer})
    def get(self, request):
        """The service records of a period (user, institution, used hours, content, fee), with totals that
        reconcile with the sharing report; or the national or Zhejiang import file (CSV or XLSX).
        Who may read: as for the catalog."""
        fmt = _choice(request, "format", FILE_FORMATS, "json")
        template = _choice(request, "template", TEMPLATES, "national")
        period = parse_period(request.query_params.get("period"))
        facilities, scope = national_scope(request)
        result = national.service_records(facilities, period)
        if fmt != "json":
            body = national_exports.records_file(result, template, fmt)
            return _file(body, fmt, national_exports.records_filename(template, scope, period, fmt))
        paginator = Pagination()
        page = paginator.paginate_queryset(result.records, request, view=self) or []
        response = paginator.get_paginated_response([record_item(r) for r in page])
        response.data["period"] = {
            "label": period.label,
            "start": iso_local(period.start),
            "end": iso_local(period.end),
        }
        response.data["totals"] = {
            "records": len(result.records),
            "used_hours": str(hours(result.used_minutes)),
            "fees": str(result.fees),
        }
        return response
