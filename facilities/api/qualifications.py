"""Qualification requests over HTTP: a person asks to be qualified on an instrument; a manager of its
facility grants (optionally until a day) or declines it. Anyone signed in may ask; only the facility's
managers (and platform admins) decide; each sees only the requests they may (their own, their
facilities'). An instrument's page-side answer, "am I qualified?", is `GET …/qualification/`."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.parsing import JSONParser, StrictIntegerField, StrictTextField, json_body
from common.time import iso_local

from .. import selectors, services
from ..models import Instrument, QualificationRequest

MAX_TEXT = 1000

ConflictOut = inline_serializer(
    "QualificationConflict", {"code": serializers.CharField(), "detail": serializers.CharField()}
)


class QualificationRequestInSerializer(serializers.Serializer):
    instrument = StrictIntegerField(min_value=1, max_value=2**53)
    note = StrictTextField(
        max_length=MAX_TEXT, allow_blank=True, required=False, default="", help_text="Training or experience."
    )


class QualificationGrantInSerializer(serializers.Serializer):
    expires_on = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The last day the qualification holds (local); null or omitted: until revoked.",
    )


class QualificationDeclineInSerializer(serializers.Serializer):
    reason = StrictTextField(max_length=MAX_TEXT, help_text="Why; the person is told.")


class QualificationRequestOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    instrument = serializers.IntegerField()
    instrument_code = serializers.CharField()
    facility = serializers.CharField()
    username = serializers.CharField()
    note = serializers.CharField()
    status = serializers.ChoiceField(choices=QualificationRequest.Status.choices)
    created_at = serializers.CharField()
    decided_at = serializers.CharField(allow_null=True)
    decided_by = serializers.CharField(allow_null=True)
    reason = serializers.CharField()
    expires_at = serializers.CharField(allow_null=True, help_text="When the granted qualification lapses.")


class QualificationStateOutSerializer(serializers.Serializer):
    instrument = serializers.IntegerField()
    requires_qualification = serializers.BooleanField()
    qualified = serializers.BooleanField(help_text="May book as far as qualification goes.")
    expires_at = serializers.CharField(allow_null=True)
    pending_request = serializers.IntegerField(allow_null=True)


def request_json(r: QualificationRequest) -> dict:
    q = r.qualification
    return {
        "id": r.pk,
        "instrument": r.instrument_id,
        "instrument_code": r.instrument.code,
        "facility": r.instrument.facility.code,
        "username": r.user.username,
        "note": r.note,
        "status": r.status,
        "created_at": iso_local(r.created_at),
        "decided_at": iso_local(r.decided_at) if r.decided_at else None,
        "decided_by": r.decided_by.username if r.decided_by else None,
        "reason": r.reason,
        "expires_at": iso_local(q.expires_at) if q and q.expires_at else None,
    }


def _validated(serializer_class, data: dict) -> dict:
    s = serializer_class(data=data)
    s.is_valid(raise_exception=True)
    return s.validated_data


def _fresh(pk: int) -> QualificationRequest:
    return QualificationRequest.objects.select_related(
        "user", "instrument__facility", "decided_by", "qualification"
    ).get(pk=pk)


class RequestList(generics.GenericAPIView):
    """GET: the requests you may see, newest first. POST: ask to be qualified on an instrument."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]
    serializer_class = QualificationRequestOutSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("status", enum=QualificationRequest.Status.values),
            OpenApiParameter("instrument", int),
        ],
        responses=QualificationRequestOutSerializer(many=True),
    )
    def get(self, request):
        qs = selectors.qualification_requests_visible_to(request.user).select_related("qualification")
        wanted = request.query_params.get("status", "").strip()
        if wanted:
            if wanted not in QualificationRequest.Status.values:
                allowed = ", ".join(QualificationRequest.Status.values)
                raise ValidationError({"status": _("Unknown status; allowed: %(allowed)s.") % {"allowed": allowed}})
            qs = qs.filter(status=wanted)
        instrument = request.query_params.get("instrument", "").strip()
        if instrument:
            if not instrument.isdigit() or len(instrument) > 15:
                raise ValidationError({"instrument": _("An instrument is named by its numeric id.")})
            qs = qs.filter(instrument_id=int(instrument))
        page = self.paginate_queryset(qs.order_by("-created_at", "-id")) or []
        return self.get_paginated_response([request_json(r) for r in page])

    @extend_schema(
        request=QualificationRequestInSerializer,
        responses={201: QualificationRequestOutSerializer, 200: QualificationRequestOutSerializer, 409: ConflictOut},
        description="201 with the new request; 200 with the waiting one when you asked before; 409 "
        "`already_qualified`; 400 when the instrument asks for no qualification.",
    )
    def post(self, request):
        data = _validated(QualificationRequestInSerializer, json_body(request))
        before = set(
            QualificationRequest.objects.filter(user=request.user, status="pending").values_list("pk", flat=True)
        )
        made = services.qualification_request_create(
            actor=request.user, instrument_id=data["instrument"], note=data["note"]
        )
        code = status.HTTP_200_OK if made.pk in before else status.HTTP_201_CREATED
        return Response(request_json(_fresh(made.pk)), status=code)


class RequestGrant(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(
        request=QualificationGrantInSerializer, responses={200: QualificationRequestOutSerializer, 409: ConflictOut}
    )
    def post(self, request, pk: int):
        data = _validated(QualificationGrantInSerializer, json_body(request))
        made = services.qualification_request_grant(actor=request.user, request_id=pk, expires_on=data["expires_on"])
        return Response(request_json(_fresh(made.pk)))


class RequestDecline(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(
        request=QualificationDeclineInSerializer, responses={200: QualificationRequestOutSerializer, 409: ConflictOut}
    )
    def post(self, request, pk: int):
        data = _validated(QualificationDeclineInSerializer, json_body(request))
        made = services.qualification_request_decline(actor=request.user, request_id=pk, reason=data["reason"])
        return Response(request_json(_fresh(made.pk)))


class MyQualification(APIView):
    """GET: whether you may book the instrument as far as qualification goes, until when, and your
    waiting request (null when none)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: QualificationStateOutSerializer})
    def get(self, request, pk: int):
        instrument = get_object_or_404(Instrument, pk=pk, active=True)
        state = selectors.qualification_state(user=request.user, instrument=instrument)
        q = state["qualification"]
        return Response(
            {
                "instrument": instrument.pk,
                "requires_qualification": instrument.requires_qualification,
                "qualified": (q is not None) or not instrument.requires_qualification,
                "expires_at": iso_local(q.expires_at) if q and q.expires_at else None,
                "pending_request": state["pending"].pk if state["pending"] else None,
            }
        )
