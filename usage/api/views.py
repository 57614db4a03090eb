"""HTTP adapters of actual use: parse strictly, call the service or selector, shape the answer."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from common.parsing import JSONParser, json_body, parse_aware, parse_strict_int, query_int, query_time
from common.time import iso_local
from facilities import selectors as facility_selectors
from facilities.models import Instrument, User

from .. import services
from ..models import UsageSettings
from ..selectors import open_session, sessions_visible_to
from ..services.agent import instrument_for_agent
from ..services.sessions import may_manage
from .serializers import (
    AgentBatchSerializer,
    AgentKeySerializer,
    AgentResultSerializer,
    SessionCorrectSerializer,
    SessionOutSerializer,
    SessionRecordSerializer,
    UsageSettingsSerializer,
    UsageStatusSerializer,
    session_json,
)

BAD_INPUT = OpenApiResponse(description="A rule is broken or the input is malformed; the body says which.")
REFUSED = OpenApiResponse(description="You may not do this; the body says why.")
CONFLICT = OpenApiResponse(description='{"code", "detail"}: e.g. in_use, slot_held, not_in_use.')


def _instrument(pk: int) -> Instrument:
    return get_object_or_404(Instrument.objects.select_related("facility"), pk=pk)


def _managed_instrument(user, pk: int) -> Instrument:
    instrument = _instrument(pk)
    if not may_manage(user, instrument):
        raise PermissionDenied(_("Only the managers of %(code)s may do this.") % {"code": instrument.facility.code})
    return instrument


def _time(data: dict, name: str, required: bool):
    if data.get(name) is None:
        if required:
            raise ValidationError({name: _("This field is required.")})
        return None
    return parse_aware(data[name], name)


def _reason(data: dict) -> str:
    value = data.get("reason", "")
    if not isinstance(value, str):
        raise ValidationError({"reason": _("The reason is text.")})
    return value


class SessionList(generics.GenericAPIView):
    """Recorded use, scoped: one's own, a manager's facilities', everything for platform admins.
    Managers record use by hand with a reason."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]
    serializer_class = SessionOutSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("instrument", int),
            OpenApiParameter("start", str, description="Keep use that overlaps [start, end)."),
            OpenApiParameter("end", str),
        ],
        responses={200: SessionOutSerializer(many=True), 400: BAD_INPUT},
    )
    def get(self, request):
        qs = sessions_visible_to(request.user).select_related("validated_by")
        instrument = query_int(request, "instrument")
        start, end = query_time(request, "start"), query_time(request, "end")
        if instrument is not None:
            qs = qs.filter(instrument_id=instrument)
        if end is not None:
            qs = qs.filter(start__lt=end)
        if start is not None:
            qs = qs.exclude(end__lte=start)
        page = self.paginate_queryset(qs.order_by("-start", "-id"))
        return self.get_paginated_response([session_json(s) for s in page])

    @extend_schema(
        request=SessionRecordSerializer,
        responses={201: SessionOutSerializer, 400: BAD_INPUT, 403: REFUSED},
    )
    def post(self, request):
        data = json_body(request)
        instrument = _managed_instrument(request.user, parse_strict_int(data.get("instrument"), "instrument"))
        username = data.get("username")
        user = User.objects.filter(username=username).first() if isinstance(username, str) else None
        if user is None:
            raise ValidationError({"username": _("No user has that username.")})
        booking = data.get("booking")
        session = services.session_record(
            actor=request.user,
            instrument=instrument,
            user=user,
            start=_time(data, "start", True),
            end=_time(data, "end", True),
            reason=_reason(data),
            booking_id=None if booking is None else parse_strict_int(booking, "booking"),
        )
        return Response(session_json(session), status=status.HTTP_201_CREATED)


class SessionDetail(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(responses={200: SessionOutSerializer, 404: OpenApiResponse(description="Not yours to see.")})
    def get(self, request, pk: int):
        return Response(session_json(get_object_or_404(sessions_visible_to(request.user), pk=pk)))

    @extend_schema(
        request=SessionCorrectSerializer,
        responses={200: SessionOutSerializer, 400: BAD_INPUT, 403: REFUSED, 404: OpenApiResponse()},
    )
    def patch(self, request, pk: int):
        data = json_body(request)
        extra = {}
        if "booking" in data:
            extra["booking_id"] = None if data["booking"] is None else parse_strict_int(data["booking"], "booking")
        session = services.session_correct(
            actor=request.user,
            session_id=pk,
            reason=_reason(data),
            start=_time(data, "start", False),
            end=_time(data, "end", False),
            **extra,
        )
        return Response(session_json(session))


class SessionValidate(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={200: SessionOutSerializer, 403: REFUSED, 404: OpenApiResponse()})
    def post(self, request, pk: int):
        return Response(session_json(services.session_validate(actor=request.user, session_id=pk)))


class CheckIn(APIView):
    """Start or stop one's own use of an instrument (what its QR code's page does)."""

    permission_classes = [permissions.IsAuthenticated]
    action = "start"

    @extend_schema(request=None, responses={200: SessionOutSerializer, 201: SessionOutSerializer, 409: CONFLICT})
    def post(self, request, pk: int):
        instrument = _instrument(pk)
        if self.action == "start":
            session = services.checkin_start(user=request.user, instrument=instrument)
            return Response(session_json(session), status=status.HTTP_201_CREATED)
        return Response(session_json(services.checkin_stop(user=request.user, instrument=instrument)))


class UsageStatus(APIView):
    """Whether the instrument is in use now; anyone, no personal data."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: UsageStatusSerializer})
    def get(self, request, pk: int):
        instrument = get_object_or_404(facility_selectors.instrument_list(), pk=pk)
        current = open_session(instrument.pk)
        return Response(
            {
                "instrument": instrument.pk,
                "in_use": current is not None,
                "since": iso_local(current.start) if current else None,
                "source": current.source if current else None,
            }
        )


def settings_json(row: UsageSettings) -> dict:
    return {
        "instrument": row.instrument_id,
        "checkin_early_minutes": row.checkin_early_minutes,
        "no_show_after_minutes": row.no_show_after_minutes,
        "heartbeat_timeout_minutes": row.heartbeat_timeout_minutes,
        "agent_key_rotated_at": iso_local(row.agent_key_rotated_at) if row.agent_key_rotated_at else None,
    }


class UsageSettingsView(APIView):
    """An instrument's check-in window, no-show release and heartbeat timeout: its managers."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(responses={200: UsageSettingsSerializer, 403: REFUSED})
    def get(self, request, pk: int):
        instrument = _managed_instrument(request.user, pk)
        return Response(settings_json(UsageSettings.for_instrument(instrument.pk)))

    @extend_schema(request=UsageSettingsSerializer, responses={200: UsageSettingsSerializer, 400: BAD_INPUT})
    def patch(self, request, pk: int):
        instrument = _managed_instrument(request.user, pk)
        data = json_body(request)
        unknown = set(data) - {"checkin_early_minutes", "no_show_after_minutes", "heartbeat_timeout_minutes"}
        if unknown:
            raise ValidationError({sorted(unknown)[0]: _("This field cannot be changed here.")})
        with transaction.atomic():
            row, _created = UsageSettings.objects.select_for_update().get_or_create(instrument=instrument)
            if "checkin_early_minutes" in data:
                row.checkin_early_minutes = parse_strict_int(
                    data["checkin_early_minutes"], "checkin_early_minutes", minimum=0, maximum=24 * 60
                )
            if "no_show_after_minutes" in data:
                value = data["no_show_after_minutes"]
                row.no_show_after_minutes = (
                    None if value is None else parse_strict_int(value, "no_show_after_minutes", maximum=24 * 60)
                )
            if "heartbeat_timeout_minutes" in data:
                row.heartbeat_timeout_minutes = parse_strict_int(
                    data["heartbeat_timeout_minutes"], "heartbeat_timeout_minutes", maximum=24 * 60
                )
            row.save()
        return Response(settings_json(row))


class AgentKeyRotate(APIView):
    """Issue (or rotate) the instrument's agent key: its managers. The key is in this answer only."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={201: AgentKeySerializer, 403: REFUSED, 404: OpenApiResponse()})
    def post(self, request, pk: int):
        instrument = _instrument(pk)
        key = services.agent_key_rotate(actor=request.user, instrument=instrument)
        row = UsageSettings.objects.get(instrument=instrument)
        return Response(
            {"instrument": instrument.pk, "key": key, "rotated_at": iso_local(row.agent_key_rotated_at)},
            status=status.HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},
        )


class RawBody(BaseParser):
    """The signature covers the exact bytes sent, so the view reads request.body itself."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        return None


class AgentEvents(APIView):
    """Events from an instrument's agent or interlock, signed with the instrument's key (no sign-in):
    headers X-Sanjiao-Timestamp (Unix seconds) and X-Sanjiao-Signature (hex HMAC-SHA256 of
    timestamp "." body). Each event id counts once; repeats are listed as duplicates."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    parser_classes = [RawBody]

    @extend_schema(
        request=AgentBatchSerializer,
        parameters=[
            OpenApiParameter("X-Sanjiao-Timestamp", str, location=OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Sanjiao-Signature", str, location=OpenApiParameter.HEADER, required=True),
        ],
        responses={
            200: AgentResultSerializer,
            400: BAD_INPUT,
            403: OpenApiResponse(description="Bad or missing signature, stale timestamp, or a replayed request."),
            404: OpenApiResponse(),
        },
    )
    def post(self, request, pk: int):
        instrument = instrument_for_agent(pk)
        body = request.body
        services.agent_request_verify(
            instrument_id=instrument.pk,
            timestamp=request.headers.get("X-Sanjiao-Timestamp", ""),
            signature=request.headers.get("X-Sanjiao-Signature", ""),
            body=body,
        )
        return Response(services.agent_events_ingest(instrument=instrument, body=body))
