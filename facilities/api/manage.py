"""Managers' controls over HTTP: closures, weekly hours, qualifications, booking rules, rates and time
shares (docs/frontend.md#managing-a-facility).

Only a facility's managers (and platform administrators) may use these; anyone else who is signed in
gets 403, and the check comes before any lookup, so the endpoints reveal nothing (such as which
usernames exist) to those who may not use them.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.parsing import AwareDateTimeField, JSONParser, StrictIntegerField, StrictTextField, json_body
from common.time import iso_local

from .. import services
from ..models import Closure, Facility, Institution, Instrument, OperatingHours, Qualification, RateCard, TimeShare
from ..models.calendars import Weekday
from ..models.catalog import UserClass
from ..selectors import facility_settings, is_manager_of, user_by_username


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


class GrantSerializer(UsernameSerializer):
    expires_on = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The last local day of the qualification (it lapses at the next midnight); omit for never.",
    )


class QualificationOutSerializer(serializers.Serializer):
    instrument = serializers.IntegerField()
    username = serializers.CharField()
    granted_by = serializers.CharField(allow_null=True)
    granted_at = serializers.CharField()
    expires_at = serializers.CharField(allow_null=True)
    in_force = serializers.BooleanField(help_text="False once the expiry has passed.")


def _validated(serializer_class, data: dict) -> dict:
    s = serializer_class(data=data)
    s.is_valid(raise_exception=True)
    return s.validated_data


def _require_manager(user, facility_id: int) -> None:
    if not (user.is_superuser or is_manager_of(user, facility_id)):
        raise PermissionDenied(_("Only this facility's managers may do that."))


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
    from django.utils import timezone

    return {
        "instrument": q.instrument_id,
        "username": q.user.username,
        "granted_by": q.granted_by.username if q.granted_by else None,
        "granted_at": iso_local(q.granted_at),
        "expires_at": iso_local(q.expires_at) if q.expires_at else None,
        "in_force": q.expires_at is None or q.expires_at > timezone.now(),
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
                    {
                        "instrument": _("%(code)s has no instrument with the id %(id)s.")
                        % {"code": facility.code, "id": data["instrument"]}
                    }
                )
        if data["end"] - data["start"] > dt.timedelta(days=3660):
            raise ValidationError({"end": _("A closure may last at most ten years.")})
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
            raise ValidationError(
                {"username": _("No user is named %(username)s.") % {"username": repr(username[:150])}}
            )
        return user

    @extend_schema(responses={200: QualificationOutSerializer(many=True)})
    def get(self, request, pk: int):
        instrument = self._instrument(request, pk)
        rows = facility_settings(instrument.facility)["qualifications"].filter(instrument=instrument)
        return Response([qualification_json(q) for q in rows[:1000]])

    @extend_schema(request=GrantSerializer, responses={201: QualificationOutSerializer})
    def post(self, request, pk: int):
        instrument = self._instrument(request, pk)
        data = _validated(GrantSerializer, json_body(request))
        user = self._user(data["username"])
        qualification = services.qualification_grant(
            actor=request.user, user=user, instrument=instrument, expires_on=data["expires_on"], keep_expiry=False
        )
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
            raise Http404(_("%(u)s holds no qualification on %(i)s.") % {"u": user.username, "i": instrument.code})
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
            raise ValidationError({name: _("This is not a booking rule a manager may change.") for name in unknown})
        serializer = InstrumentRulesSerializer(data=body, partial=True)
        serializer.is_valid(raise_exception=True)
        instrument = services.instrument_rules_update(
            actor=request.user, instrument_id=pk, changes=dict(serializer.validated_data)
        )
        return Response(rules_json(instrument))


# --- Weekly hours -------------------------------------------------------------------------------------


class HoursInSerializer(serializers.Serializer):
    weekday = serializers.ChoiceField(choices=Weekday.choices, help_text="0 Monday … 6 Sunday.")
    opens = serializers.TimeField(help_text="Local time, HH:MM.")
    closes = serializers.TimeField(help_text="Local time, HH:MM; after `opens` (a span ends by midnight).")
    instrument = StrictIntegerField(
        min_value=1,
        max_value=2**53,
        required=False,
        allow_null=True,
        default=None,
        help_text="Hours of one instrument (they replace the facility's for it); omit for the facility's.",
    )


class HoursOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    facility = serializers.CharField()
    instrument = serializers.IntegerField(allow_null=True)
    weekday = serializers.IntegerField()
    opens = serializers.CharField()
    closes = serializers.CharField()


def hours_json(h: OperatingHours) -> dict:
    return {
        "id": h.pk,
        "facility": h.facility.code,
        "instrument": h.instrument_id,
        "weekday": h.weekday,
        "opens": h.opens.strftime("%H:%M"),
        "closes": h.closes.strftime("%H:%M"),
    }


class FacilityHours(APIView):
    """A facility's weekly opening spans, and those of its instruments. No rows: open around the clock."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    def _facility(self, request, code: str) -> Facility:
        facility = get_object_or_404(Facility, code=code)
        _require_manager(request.user, facility.pk)
        return facility

    @extend_schema(responses={200: HoursOutSerializer(many=True)})
    def get(self, request, code: str):
        facility = self._facility(request, code)
        return Response([hours_json(h) for h in facility_settings(facility)["hours"]])

    @extend_schema(request=HoursInSerializer, responses={201: HoursOutSerializer})
    def post(self, request, code: str):
        facility = self._facility(request, code)
        data = _validated(HoursInSerializer, json_body(request))
        instrument = None
        if data["instrument"] is not None:
            instrument = Instrument.objects.filter(pk=data["instrument"], facility=facility).first()
            if instrument is None:
                raise ValidationError(
                    {
                        "instrument": _("%(code)s has no instrument with the id %(id)s.")
                        % {"code": facility.code, "id": data["instrument"]}
                    }
                )
        span = services.operating_hours_add(
            actor=request.user,
            facility=facility,
            instrument=instrument,
            weekday=data["weekday"],
            opens=data["opens"],
            closes=data["closes"],
        )
        return Response(hours_json(span), status=status.HTTP_201_CREATED)


class HoursDetail(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, pk: int):
        span = get_object_or_404(OperatingHours, pk=pk)
        _require_manager(request.user, span.facility_id)
        services.operating_hours_remove(actor=request.user, hours_id=span.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Rates per user class and co-building partners' time shares ---------------------------------------


def _money_text(value) -> str:
    return f"{value:.2f}"


class RateSerializer(serializers.Serializer):
    user_class = serializers.ChoiceField(choices=UserClass.choices)
    hourly_rate = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, coerce_to_string=True, help_text='CNY per hour, e.g. "800.00".'
    )


def rate_json(card: RateCard) -> dict:
    return {"user_class": card.user_class, "hourly_rate": _money_text(card.hourly_rate)}


class ManagedInstrumentView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    def _instrument(self, request, pk: int) -> Instrument:
        instrument = get_object_or_404(Instrument.objects.select_related("facility"), pk=pk)
        _require_manager(request.user, instrument.facility_id)
        return instrument


class InstrumentRates(ManagedInstrumentView):
    """The hourly rates an instrument publishes per user class. A class without a rate books free."""

    @extend_schema(responses={200: RateSerializer(many=True)})
    def get(self, request, pk: int):
        instrument = self._instrument(request, pk)
        return Response([rate_json(c) for c in RateCard.objects.filter(instrument=instrument)])

    @extend_schema(request=RateSerializer, responses={200: RateSerializer})
    def put(self, request, pk: int):
        self._instrument(request, pk)
        data = _validated(RateSerializer, json_body(request))
        card = services.rate_set(
            actor=request.user, instrument_id=pk, user_class=data["user_class"], hourly_rate=data["hourly_rate"]
        )
        return Response(rate_json(card))

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("user_class", str, enum=UserClass.values, description="The rate to withdraw.")],
        responses={204: None},
    )
    def delete(self, request, pk: int):
        instrument = self._instrument(request, pk)
        user_class = request.query_params.get("user_class", "")
        if user_class not in UserClass.values:
            raise ValidationError({"user_class": _("Choose one of: %(v)s.") % {"v": ", ".join(UserClass.values)}})
        if not services.rate_remove(actor=request.user, instrument_id=pk, user_class=user_class):
            raise Http404(_("%(i)s publishes no rate for that user class.") % {"i": instrument.code})
        return Response(status=status.HTTP_204_NO_CONTENT)


class TimeShareSerializer(serializers.Serializer):
    institution = StrictTextField(max_length=32, help_text="The partner institution's code.")
    percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, coerce_to_string=True, help_text="Share of each quarter's available hours."
    )


def share_json(share: TimeShare) -> dict:
    return {"institution": share.institution.code, "percent": _money_text(share.percent)}


def _institution(code: str) -> Institution:
    institution = Institution.objects.filter(code=code).first()
    if institution is None:
        raise ValidationError({"institution": _("No institution has the code %(code)s.") % {"code": code[:32]}})
    return institution


class InstrumentTimeShares(ManagedInstrumentView):
    """Co-building partners' reserved shares of an instrument's hours in each quarter (at most 100 % in all)."""

    @extend_schema(responses={200: TimeShareSerializer(many=True)})
    def get(self, request, pk: int):
        instrument = self._instrument(request, pk)
        shares = TimeShare.objects.filter(instrument=instrument).select_related("institution")
        return Response([share_json(s) for s in shares.order_by("institution__code")])

    @extend_schema(request=TimeShareSerializer, responses={200: TimeShareSerializer})
    def put(self, request, pk: int):
        self._instrument(request, pk)
        data = _validated(TimeShareSerializer, json_body(request))
        share = services.time_share_set(
            actor=request.user, instrument_id=pk, institution=_institution(data["institution"]), percent=data["percent"]
        )
        return Response(share_json(share))

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("institution", str, description="The partner whose share to withdraw.")],
        responses={204: None},
    )
    def delete(self, request, pk: int):
        instrument = self._instrument(request, pk)
        institution = _institution(request.query_params.get("institution", ""))
        if not services.time_share_remove(actor=request.user, instrument_id=pk, institution_id=institution.pk):
            raise Http404(_("%(p)s keeps no share of %(i)s.") % {"p": institution.code, "i": instrument.code})
        return Response(status=status.HTTP_204_NO_CONTENT)
