"""HTTP adapters for bookings a calendar change put in closed time (booking/services/flags.py): the list,
and the facility's three decisions. Requesters see their own flags; only the facility's managers decide."""

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.parsing import AwareDateTimeField, JSONParser, StrictTextField, json_body
from common.time import iso_local

from ..models import Booking, CalendarFlag
from ..selectors import purpose_checker, with_details
from ..services import flags as flag_services
from ..services.transitions import MAX_REASON_LENGTH
from .serializers import BookingOutSerializer, ConflictSerializer, booking_json


class FlagOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=CalendarFlag.Status.choices)
    cause = serializers.CharField(help_text="closure_added, closure_changed, hours_changed or holidays_changed")
    reason = serializers.CharField(help_text="Why the booked time is closed now, in the request's language.")
    reason_code = serializers.ChoiceField(
        choices=CalendarFlag.ReasonCode.choices,
        help_text="closure, hours, holiday, or text (an older flag whose reason is only known as words)",
    )
    reason_params = serializers.DictField(
        help_text='closure: {"closure_kind", "text"} (the closure\'s own reason); '
        'holiday: {"date", "festival", "provisional"}; hours: {}; text: {"text"}'
    )
    created_at = serializers.CharField()
    resolved_at = serializers.CharField(allow_null=True)
    resolved_by = serializers.CharField(allow_null=True)
    note = serializers.CharField()
    booking = BookingOutSerializer()


class FlagNoteSerializer(serializers.Serializer):
    reason = StrictTextField(
        max_length=MAX_REASON_LENGTH,
        allow_blank=True,
        required=False,
        default="",
        help_text="A word to the requester (kept in the booking's history and the mail).",
    )


class FlagMoveSerializer(FlagNoteSerializer):
    start = AwareDateTimeField()
    end = AwareDateTimeField()


def _validated(serializer_class, data: dict) -> dict:
    s = serializer_class(data=data)
    s.is_valid(raise_exception=True)
    return s.validated_data


def flag_json(flag: CalendarFlag, *, show_purpose: bool) -> dict:
    return {
        "id": flag.pk,
        "status": flag.status,
        "cause": flag.cause,
        "reason": flag.reason_text,  # in the request's language
        "reason_code": flag.reason_code,
        "reason_params": flag.reason_params,
        "created_at": iso_local(flag.created_at),
        "resolved_at": iso_local(flag.resolved_at) if flag.resolved_at else None,
        "resolved_by": flag.resolved_by.username if flag.resolved_by else None,
        "note": flag.note,
        "booking": booking_json(flag.booking, show_purpose=show_purpose),
    }


def flags_with_details(qs):
    return qs.select_related("resolved_by").prefetch_related(
        Prefetch("booking", queryset=with_details(Booking.objects.all()))
    )


class FlagList(generics.GenericAPIView):
    """GET: the flags of the bookings you may see (your own; your facilities' as a manager), newest first."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = FlagOutSerializer

    @extend_schema(
        parameters=[OpenApiParameter("status", enum=CalendarFlag.Status.values)],
        responses=FlagOutSerializer(many=True),
    )
    def get(self, request):
        qs = flag_services.flags_visible_to(request.user)
        wanted = request.query_params.get("status", "").strip()
        if wanted:
            if wanted not in CalendarFlag.Status.values:
                allowed = ", ".join(CalendarFlag.Status.values)
                raise ValidationError(
                    {
                        "status": _("Unknown status %(wanted)s; allowed: %(allowed)s.")
                        % {"wanted": repr(wanted[:40]), "allowed": allowed}
                    }
                )
            qs = qs.filter(status=wanted)
        page = self.paginate_queryset(flags_with_details(qs).order_by("-created_at", "-id")) or []
        shows = purpose_checker(request.user)
        return self.get_paginated_response([flag_json(f, show_purpose=shows(f.booking)) for f in page])


class _Decision(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]
    body: type[serializers.Serializer] = FlagNoteSerializer

    def answer(self, request, flag: CalendarFlag) -> Response:
        fresh = flags_with_details(CalendarFlag.objects.filter(pk=flag.pk)).get()
        return Response(flag_json(fresh, show_purpose=True))


class FlagKeep(_Decision):
    @extend_schema(request=FlagNoteSerializer, responses={200: FlagOutSerializer, 409: ConflictSerializer})
    def post(self, request, pk: int):
        data = _validated(FlagNoteSerializer, json_body(request))
        return self.answer(request, flag_services.flag_keep(actor=request.user, flag_id=pk, note=data["reason"]))


class FlagMove(_Decision):
    @extend_schema(request=FlagMoveSerializer, responses={200: FlagOutSerializer, 409: ConflictSerializer})
    def post(self, request, pk: int):
        data = _validated(FlagMoveSerializer, json_body(request))
        flag = flag_services.flag_move(
            actor=request.user, flag_id=pk, start=data["start"], end=data["end"], note=data["reason"]
        )
        return self.answer(request, flag)


class FlagCancel(_Decision):
    @extend_schema(request=FlagNoteSerializer, responses={200: FlagOutSerializer, 409: ConflictSerializer})
    def post(self, request, pk: int):
        data = _validated(FlagNoteSerializer, json_body(request))
        return self.answer(request, flag_services.flag_cancel(actor=request.user, flag_id=pk, note=data["reason"]))
