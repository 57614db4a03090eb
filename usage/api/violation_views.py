"""HTTP adapters for violations, suspensions, appeals and a facility's violation policy."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from common.parsing import JSONParser, json_body, parse_strict_int
from facilities.models import Facility
from facilities.selectors import is_manager_of

from ..models import ViolationPolicy
from ..selectors import suspensions_visible_to, violations_visible_to
from ..services.violations import suspension_appeal, suspension_decide, violation_policy_set
from .serializers import (
    AppealSerializer,
    DecideSerializer,
    SuspensionOutSerializer,
    ViolationOutSerializer,
    ViolationPolicySerializer,
    suspension_json,
    violation_json,
)

BAD_INPUT = OpenApiResponse(description="The input is malformed or a rule is broken; the body says which.")


class ViolationList(generics.GenericAPIView):
    """Violations, scoped: one's own, a manager's facilities', all for platform admins."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = ViolationOutSerializer

    @extend_schema(responses={200: ViolationOutSerializer(many=True)})
    def get(self, request):
        page = self.paginate_queryset(violations_visible_to(request.user).order_by("-occurred_at", "-id"))
        return self.get_paginated_response([violation_json(v) for v in page])


class SuspensionList(generics.GenericAPIView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = SuspensionOutSerializer

    @extend_schema(responses={200: SuspensionOutSerializer(many=True)})
    def get(self, request):
        page = self.paginate_queryset(suspensions_visible_to(request.user).order_by("-starts_at", "-id"))
        return self.get_paginated_response([suspension_json(s) for s in page])


def _text(data: dict, name: str) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise ValidationError({name: _("Must be text.")})
    return value


class SuspensionAppeal(APIView):
    """The suspended user appeals, once."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(request=AppealSerializer, responses={200: SuspensionOutSerializer, 400: BAD_INPUT, 404: None})
    def post(self, request, pk: int):
        data = json_body(request)
        s = suspension_appeal(user=request.user, suspension_id=pk, text=_text(data, "text"))
        return Response(suspension_json(s))


class SuspensionDecide(APIView):
    """A manager of the facility grants (lifts the suspension) or rejects the pending appeal."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(request=DecideSerializer, responses={200: SuspensionOutSerializer, 400: BAD_INPUT, 403: None})
    def post(self, request, pk: int):
        data = json_body(request)
        grant = data.get("grant")
        if not isinstance(grant, bool):
            raise ValidationError({"grant": _("true to lift the suspension, false to keep it.")})
        s = suspension_decide(actor=request.user, suspension_id=pk, grant=grant, reason=_text(data, "reason"))
        return Response(suspension_json(s))


def policy_json(p: ViolationPolicy, code: str) -> dict:
    return {
        "facility": code,
        "active": p.active,
        "max_violations": p.max_violations,
        "window_days": p.window_days,
        "suspension_days": p.suspension_days,
        "short_use_percent": p.short_use_percent,
    }


class ViolationPolicyView(APIView):
    """A facility's violation policy: its managers read and set it."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    def _facility(self, request, code: str) -> Facility:
        facility = get_object_or_404(Facility, code=code)
        if not (request.user.is_superuser or is_manager_of(request.user, facility.pk)):
            raise PermissionDenied(
                _("Only the managers of %(code)s set its violation policy.") % {"code": facility.code}
            )
        return facility

    @extend_schema(responses={200: ViolationPolicySerializer, 403: None})
    def get(self, request, code: str):
        facility = self._facility(request, code)
        row = ViolationPolicy.objects.filter(facility=facility).first() or ViolationPolicy(
            facility=facility, active=False
        )
        return Response(policy_json(row, facility.code))

    @extend_schema(request=ViolationPolicySerializer, responses={200: ViolationPolicySerializer, 400: BAD_INPUT})
    def put(self, request, code: str):
        facility = self._facility(request, code)
        data = json_body(request)
        active = data.get("active", True)
        if not isinstance(active, bool):
            raise ValidationError({"active": _("true or false.")})
        values = {
            "active": active,
            "max_violations": parse_strict_int(data.get("max_violations", 3), "max_violations", maximum=100),
            "window_days": parse_strict_int(data.get("window_days", 90), "window_days", maximum=3650),
            "suspension_days": parse_strict_int(data.get("suspension_days", 30), "suspension_days", maximum=3650),
            "short_use_percent": parse_strict_int(
                data.get("short_use_percent", 50), "short_use_percent", minimum=0, maximum=100
            ),
        }
        row = violation_policy_set(actor=request.user, facility_id=facility.pk, **values)
        return Response(policy_json(row, facility.code))
