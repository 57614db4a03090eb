"""Managers' calendar and access controls over HTTP: closures and qualifications.

Only a facility's managers (and platform administrators) may use these; anyone else who is signed in
gets 403, and the check comes before any lookup, so the endpoints reveal nothing (such as which
usernames exist) to those who may not use them.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.parsing import AwareDateTimeField, JSONParser, StrictIntegerField, StrictTextField, json_body
from common.time import iso_local

from .. import services
from ..models import Closure, Facility, Instrument, Qualification
from ..selectors import is_manager_of, user_by_username


class ClosureInSerializer(serializers.Serializer):
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    kind = serializers.ChoiceField(choices=Closure.Kind.choices, default=Closure.Kind.MAINTENANCE)
    reason = StrictTextField(max_length=200, allow_blank=True, required=False, default="")
    instrument = StrictIntegerField(
        min_value=1,
        max_value=2**53,
        required=False,
        allow_null=True,
        default=None,
        help_text="Close one instrument only; omit to close the whole facility.",
    )


class ClosureOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    facility = serializers.CharField()
    instrument = serializers.IntegerField(allow_null=True)
    start = serializers.CharField()
    end = serializers.CharField()
    kind = serializers.CharField()
    reason = serializers.CharField()


class UsernameSerializer(serializers.Serializer):
    username = StrictTextField(max_length=150)


class QualificationOutSerializer(serializers.Serializer):
    instrument = serializers.IntegerField()
    username = serializers.CharField()
    granted_by = serializers.CharField(allow_null=True)
    granted_at = serializers.CharField()


def _validated(serializer_class, data: dict) -> dict:
    s = serializer_class(data=data)
    s.is_valid(raise_exception=True)
    return s.validated_data


def _require_manager(user, facility_id: int) -> None:
    if not (user.is_superuser or is_manager_of(user, facility_id)):
        raise PermissionDenied("Only this facility's managers may do that.")


def closure_json(c: Closure) -> dict:
    return {
        "id": c.pk,
        "facility": c.facility.code,
        "instrument": c.instrument_id,
        "start": iso_local(c.start),
        "end": iso_local(c.end),
        "kind": c.kind,
        "reason": c.reason,
    }


def qualification_json(q: Qualification) -> dict:
    return {
        "instrument": q.instrument_id,
        "username": q.user.username,
        "granted_by": q.granted_by.username if q.granted_by else None,
        "granted_at": iso_local(q.granted_at),
    }


class FacilityClosures(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(request=ClosureInSerializer, responses={201: ClosureOutSerializer})
    def post(self, request, code: str):
        facility = get_object_or_404(Facility, code=code)
        _require_manager(request.user, facility.pk)
        data = _validated(ClosureInSerializer, json_body(request))
        instrument = None
        if data["instrument"] is not None:
            instrument = Instrument.objects.filter(pk=data["instrument"], facility=facility).first()
            if instrument is None:
                raise ValidationError(
                    {"instrument": f"{facility.code} has no instrument with the id {data['instrument']}."}
                )
        if data["end"] - data["start"] > dt.timedelta(days=3660):
            raise ValidationError({"end": "A closure may last at most ten years."})
        closure = services.closure_add(
            actor=request.user,
            facility=facility,
            instrument=instrument,
            start=data["start"],
            end=data["end"],
            kind=data["kind"],
            reason=data["reason"],
        )
        return Response(closure_json(closure), status=status.HTTP_201_CREATED)


class ClosureDetail(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, pk: int):
        closure = get_object_or_404(Closure.objects.select_related("facility", "instrument"), pk=pk)
        _require_manager(request.user, closure.facility_id)
        services.closure_remove(actor=request.user, closure=closure)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InstrumentQualifications(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    def _instrument(self, request, pk: int) -> Instrument:
        instrument = get_object_or_404(Instrument.objects.select_related("facility"), pk=pk)
        _require_manager(request.user, instrument.facility_id)
        return instrument

    def _user(self, username: str):
        user = user_by_username(username)
        if user is None:
            raise ValidationError({"username": f"No user is named {username[:150]!r}."})
        return user

    @extend_schema(request=UsernameSerializer, responses={201: QualificationOutSerializer})
    def post(self, request, pk: int):
        instrument = self._instrument(request, pk)
        user = self._user(_validated(UsernameSerializer, json_body(request))["username"])
        qualification = services.qualification_grant(actor=request.user, user=user, instrument=instrument)
        return Response(qualification_json(qualification), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=UsernameSerializer,
        parameters=[OpenApiParameter("username", str, description='Whom to revoke; or send {"username"} as the body.')],
        responses={204: None},
    )
    def delete(self, request, pk: int):
        instrument = self._instrument(request, pk)
        username = request.query_params.get("username") or json_body(request).get("username")
        user = self._user(_validated(UsernameSerializer, {"username": username})["username"])
        if not services.qualification_revoke(actor=request.user, user=user, instrument=instrument):
            raise Http404(f"{user.username} holds no qualification on {instrument.code}.")
        return Response(status=status.HTTP_204_NO_CONTENT)


def _minutes(help_text: str, **kw):
    return StrictIntegerField(min_value=0, max_value=60 * 24 * 366, required=False, help_text=help_text, **kw)


class InstrumentRulesSerializer(serializers.Serializer):
    """An instrument's booking rules and auto-approval; on PATCH every field is optional."""

    booking_unit_minutes = StrictIntegerField(
        min_value=1, max_value=1440, required=False, help_text="Bookings start and end on multiples of this."
    )
    min_minutes = _minutes("Shortest booking.")
    max_minutes = _minutes("Longest booking.")
    lead_time_minutes = _minutes("How long before the start a booking must be made.")
    horizon_days = StrictIntegerField(min_value=0, max_value=3660, required=False, help_text="How far ahead.")
    buffer_minutes = _minutes("Changeover kept free after each booking.")
    requires_approval = serializers.BooleanField(required=False)
    requires_qualification = serializers.BooleanField(required=False)
    auto_approve_qualified = serializers.BooleanField(required=False)
    auto_approve_host = serializers.BooleanField(required=False)
    max_future_bookings = StrictIntegerField(
        min_value=1, max_value=10000, required=False, allow_null=True, help_text="Empty (null) for no limit."
    )


def rules_json(instrument: Instrument) -> dict:
    return {"instrument": instrument.pk, **{name: getattr(instrument, name) for name in services.RULE_FIELDS}}


class InstrumentRules(APIView):
    """GET or PATCH an instrument's booking rules (its facility's managers and platform admins)."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    def _instrument(self, request, pk: int) -> Instrument:
        instrument = get_object_or_404(Instrument.objects.select_related("facility"), pk=pk)
        _require_manager(request.user, instrument.facility_id)
        return instrument

    @extend_schema(responses={200: InstrumentRulesSerializer})
    def get(self, request, pk: int):
        return Response(rules_json(self._instrument(request, pk)))

    @extend_schema(request=InstrumentRulesSerializer, responses={200: InstrumentRulesSerializer})
    def patch(self, request, pk: int):
        self._instrument(request, pk)
        body = json_body(request)
        unknown = sorted(set(body) - set(services.RULE_FIELDS))
        if unknown:
            raise ValidationError({name: "This is not a booking rule a manager may change." for name in unknown})
        serializer = InstrumentRulesSerializer(data=body, partial=True)
        serializer.is_valid(raise_exception=True)
        instrument = services.instrument_rules_update(
            actor=request.user, instrument_id=pk, changes=dict(serializer.validated_data)
        )
        return Response(rules_json(instrument))
