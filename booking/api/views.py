"""HTTP adapters for bookings: parse strictly, call the service or selector, shape the answer."""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.parsing import JSONParser, json_body, query_int, query_time

from .. import services
from ..models import Booking
from ..selectors import bookings_visible_to, purpose_checker, with_details
from .idempotency import HEADER, idempotent
from .serializers import (
    BookingCreateSerializer,
    BookingOutSerializer,
    BookingReasonSerializer,
    CompleteSerializer,
    ConflictSerializer,
    booking_json,
)


def _validated(serializer_class, data: dict) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _shown(request, booking_id: int) -> dict:
    booking = with_details(Booking.objects.filter(pk=booking_id)).get()
    return booking_json(booking, show_purpose=purpose_checker(request.user)(booking))


class BookingList(generics.GenericAPIView):
    """GET: the bookings you may see. POST: book an instrument (researchers)."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]
    serializer_class = BookingOutSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("status", enum=[c for c, _ in Booking.Status.choices]),
            OpenApiParameter("instrument", int),
            OpenApiParameter(
                "start", str, description="Only bookings that end after this time (ISO 8601 with offset)."
            ),
            OpenApiParameter("end", str, description="Only bookings that start before this time."),
        ],
        responses=BookingOutSerializer(many=True),
    )
    def get(self, request):
        qs = bookings_visible_to(request.user)
        status_param = request.query_params.get("status", "").strip()
        if status_param:
            allowed = [c for c, _ in Booking.Status.choices]
            if status_param not in allowed:
                raise ValidationError(
                    {
                        "status": _("Unknown status %(status_param)s; allowed: %(value)s.")
                        % {"status_param": repr(status_param[:40]), "value": ", ".join(allowed)}
                    }
                )
            qs = qs.filter(status=status_param)
        instrument = query_int(request, "instrument")
        if instrument is not None:
            qs = qs.filter(instrument_id=instrument)
        start, end = query_time(request, "start"), query_time(request, "end")
        if start and end and end <= start:
            raise ValidationError({"end": _("The end must be after the start.")})
        if start:
            qs = qs.filter(end__gt=start)
        if end:
            qs = qs.filter(start__lt=end)
        page = self.paginate_queryset(with_details(qs).order_by("start", "id")) or []
        shows = purpose_checker(request.user)
        return self.get_paginated_response([booking_json(b, show_purpose=shows(b)) for b in page])

    @extend_schema(
        request=BookingCreateSerializer,
        parameters=[
            OpenApiParameter(
                HEADER, str, location=OpenApiParameter.HEADER, description="Replays return the first answer."
            )
        ],
        responses={
            201: BookingOutSerializer,
            400: OpenApiResponse(description="A rule is broken or the input is malformed."),
            409: ConflictSerializer,
        },
    )
    def post(self, request):
        body = json_body(request)
        return idempotent(request, self, body, lambda: self._create(request, body))

    def _create(self, request, body: dict) -> Response:
        data = _validated(BookingCreateSerializer, body)
        splits = data.get("splits")
        common = {
            "instrument_id": data["instrument"],
            "start": data["start"],
            "end": data["end"],
            "purpose": data.get("purpose", ""),
            "splits": [{"account": s["account"], "percent": s["percent"]} for s in splits] if splits else None,
        }
        if data.get("on_behalf_of"):
            # A facility manager books for a user: the booking is the user's, the trail names the manager.
            booking = services.booking_request_on_behalf(actor=request.user, username=data["on_behalf_of"], **common)
        else:
            booking = services.booking_request_by_id(requester=request.user, **common)
        # The requester (or the manager who booked for them) sees the purpose.
        return Response(booking_json(booking, show_purpose=True), status=status.HTTP_201_CREATED)


class BookingDetail(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(responses=BookingOutSerializer)
    def get(self, request, pk: int):
        booking = with_details(bookings_visible_to(request.user).filter(pk=pk)).first()
        if booking is None:
            raise Http404(_("No such booking, or you may not see it."))
        return Response(booking_json(booking, show_purpose=purpose_checker(request.user)(booking)))


class _Transition(APIView):
    """POST to move a booking to another state; an illegal move is a 409 invalid_transition."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]
    body_serializer: type[serializers.Serializer] = BookingReasonSerializer

    @extend_schema(request=BookingReasonSerializer, responses={200: BookingOutSerializer, 409: ConflictSerializer})
    def post(self, request, pk: int):
        return self._post(request, pk)

    def _post(self, request, pk: int):
        data = _validated(self.body_serializer, json_body(request))
        booking = self.act(request.user, pk, data)
        return Response(_shown(request, booking.pk))

    def act(self, user, pk: int, data: dict) -> Booking:  # pragma: no cover - each subclass defines it
        raise NotImplementedError


class BookingApprove(_Transition):
    def act(self, user, pk, data):
        return services.booking_approve(actor=user, booking_id=pk, reason=data["reason"])


class BookingReject(_Transition):
    def act(self, user, pk, data):
        return services.booking_reject(actor=user, booking_id=pk, reason=data["reason"])


class BookingCancel(_Transition):
    def act(self, user, pk, data):
        return services.booking_cancel(actor=user, booking_id=pk, reason=data["reason"])


class BookingNoShow(_Transition):
    def act(self, user, pk, data):
        return services.booking_no_show(actor=user, booking_id=pk, reason=data["reason"])


class BookingComplete(_Transition):
    body_serializer = CompleteSerializer

    @extend_schema(request=CompleteSerializer, responses={200: BookingOutSerializer, 409: ConflictSerializer})
    def post(self, request, pk: int):
        return self._post(request, pk)

    def act(self, user, pk, data):
        return services.booking_complete(
            actor=user, booking_id=pk, actual_start=data.get("actual_start"), actual_end=data.get("actual_end")
        )
