"""HTTP adapters for series, bundles, moves, payers and the waitlist: parse strictly, call the service, shape
the answer the way the core booking API does."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.parsing import JSONParser, json_body
from facilities.models import Instrument

from .. import services
from ..models import Booking, WaitlistEntry
from ..selectors import purpose_checker, with_details
from ..services.waitlist import entries_visible_to
from .extras_serializers import (
    BundleCreateSerializer,
    BundleOutSerializer,
    MoveSerializer,
    PayersSerializer,
    SeriesCreateSerializer,
    SeriesOutSerializer,
    WaitlistAcceptSerializer,
    WaitlistEntryOutSerializer,
    WaitlistJoinSerializer,
    waitlist_json,
)
from .idempotency import HEADER, idempotent
from .serializers import BookingOutSerializer, ConflictSerializer, booking_json

BAD_INPUT = OpenApiResponse(description="A rule is broken or the input is malformed; the body says which.")
IDEMPOTENCY = OpenApiParameter(
    HEADER, str, location=OpenApiParameter.HEADER, description="Replays return the first answer."
)


def _validated(serializer_class, data: dict) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _instruments(ids: list[int], field: str) -> dict[int, Instrument]:
    found = Instrument.objects.select_related("facility", "facility__host").in_bulk(set(ids))
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationError({field: _("No instrument has the id %(missing)s.") % {"missing": missing[0]}})
    return found


def _splits(data: dict) -> list[dict] | None:
    splits = data.get("splits")
    return [{"account": s["account"], "percent": s["percent"]} for s in splits] if splits else None


def _bookings_json(request, ids: list[int]) -> list[dict]:
    rows = {b.pk: b for b in with_details(Booking.objects.filter(pk__in=ids))}
    shows = purpose_checker(request.user)
    return [booking_json(rows[pk], show_purpose=shows(rows[pk])) for pk in ids]


class SeriesCreate(APIView):
    """Book a weekly recurring series: all or nothing unless skip_conflicts."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(
        request=SeriesCreateSerializer,
        parameters=[IDEMPOTENCY],
        responses={
            201: SeriesOutSerializer,
            400: BAD_INPUT,
            409: OpenApiResponse(
                description='{"code": "series_unavailable", "detail", '
                '"occurrences": [{"occurrence", "start", "end", "code", "detail"}]}'
            ),
        },
    )
    def post(self, request):
        body = json_body(request)
        return idempotent(request, self, body, lambda: self._create(request, body))

    def _create(self, request, body: dict) -> Response:
        data = _validated(SeriesCreateSerializer, body)
        instrument = _instruments([data["instrument"]], "instrument")[data["instrument"]]
        result = services.booking_series_request(
            requester=request.user,
            instrument=instrument,
            start=data["start"],
            end=data["end"],
            count=data["count"],
            interval_weeks=data["interval_weeks"],
            purpose=data["purpose"],
            splits=_splits(data),
            skip_conflicts=data["skip_conflicts"],
        )
        series = result.series
        return Response(
            {
                "id": series.pk,
                "instrument": series.instrument_id,
                "count": series.count,
                "interval_weeks": series.interval_weeks,
                "bookings": _bookings_json(request, [b.pk for b in result.bookings]),
                "skipped": result.skipped,
            },
            status=status.HTTP_201_CREATED,
        )


class BundleCreate(APIView):
    """Book slots on several instruments together, all or nothing."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(
        request=BundleCreateSerializer,
        parameters=[IDEMPOTENCY],
        responses={
            201: BundleOutSerializer,
            400: BAD_INPUT,
            409: OpenApiResponse(
                description='{"code": "bundle_unavailable", "detail", '
                '"items": [{"item", "instrument", "start", "end", "conflicts"}]}'
            ),
        },
    )
    def post(self, request):
        body = json_body(request)
        return idempotent(request, self, body, lambda: self._create(request, body))

    def _create(self, request, body: dict) -> Response:
        data = _validated(BundleCreateSerializer, body)
        found = _instruments([item["instrument"] for item in data["items"]], "items")
        items = [{"instrument": found[i["instrument"]], "start": i["start"], "end": i["end"]} for i in data["items"]]
        bundle, bookings = services.booking_bundle_request(
            requester=request.user, items=items, purpose=data["purpose"], splits=_splits(data)
        )
        return Response(
            {"id": bundle.pk, "purpose": bundle.purpose, "bookings": _bookings_json(request, [b.pk for b in bookings])},
            status=status.HTTP_201_CREATED,
        )


class BookingMove(APIView):
    """Move a requested or approved booking (its requester or the facility's managers)."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(
        request=MoveSerializer, responses={200: BookingOutSerializer, 400: BAD_INPUT, 409: ConflictSerializer}
    )
    def post(self, request, pk: int):
        data = _validated(MoveSerializer, json_body(request))
        booking = services.booking_move(actor=request.user, booking_id=pk, start=data["start"], end=data["end"])
        return Response(_bookings_json(request, [booking.pk])[0])


class BookingPayers(APIView):
    """Change who pays a requested or approved booking (its requester only), checked like a new request's splits."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(
        request=PayersSerializer,
        responses={
            200: BookingOutSerializer,
            400: BAD_INPUT,
            403: OpenApiResponse(description="You see the booking but are not its requester."),
            404: OpenApiResponse(description="No such booking, or you may not see it."),
            409: ConflictSerializer,
        },
    )
    def post(self, request, pk: int):
        data = _validated(PayersSerializer, json_body(request))
        booking = services.booking_change_payers(actor=request.user, booking_id=pk, splits=_splits(data))
        return Response(_bookings_json(request, [booking.pk])[0])


class WaitlistList(generics.GenericAPIView):
    """GET: your waitlist entries. POST: queue for a slot someone else holds."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]
    serializer_class = WaitlistEntryOutSerializer

    @extend_schema(
        parameters=[OpenApiParameter("status", enum=[c for c, _ in WaitlistEntry.Status.choices])],
        responses=WaitlistEntryOutSerializer(many=True),
    )
    def get(self, request):
        qs = entries_visible_to(request.user)
        wanted = request.query_params.get("status", "").strip()
        if wanted:
            allowed = [c for c, _ in WaitlistEntry.Status.choices]
            if wanted not in allowed:
                raise ValidationError(
                    {
                        "status": _("Unknown status %(wanted)s; allowed: %(value)s.")
                        % {"wanted": repr(wanted[:40]), "value": ", ".join(allowed)}
                    }
                )
            qs = qs.filter(status=wanted)
        page = self.paginate_queryset(qs.order_by("-created_at", "-id")) or []
        return self.get_paginated_response([waitlist_json(e) for e in page])

    @extend_schema(
        request=WaitlistJoinSerializer,
        responses={201: WaitlistEntryOutSerializer, 400: BAD_INPUT, 409: ConflictSerializer},
    )
    def post(self, request):
        data = _validated(WaitlistJoinSerializer, json_body(request))
        instrument = _instruments([data["instrument"]], "instrument")[data["instrument"]]
        entry = services.waitlist_join(user=request.user, instrument=instrument, start=data["start"], end=data["end"])
        return Response(waitlist_json(entry), status=status.HTTP_201_CREATED)


class WaitlistAccept(APIView):
    """Book the slot you were offered; every booking rule applies."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(
        request=WaitlistAcceptSerializer, responses={201: BookingOutSerializer, 400: BAD_INPUT, 409: ConflictSerializer}
    )
    def post(self, request, pk: int):
        data = _validated(WaitlistAcceptSerializer, json_body(request))
        _entry, booking = services.waitlist_accept(
            user=request.user, entry_id=pk, purpose=data["purpose"], splits=_splits(data)
        )
        return Response(_bookings_json(request, [booking.pk])[0], status=status.HTTP_201_CREATED)


class WaitlistWithdraw(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(request=None, responses={200: WaitlistEntryOutSerializer, 409: ConflictSerializer})
    def post(self, request, pk: int):
        entry = services.waitlist_withdraw(user=request.user, entry_id=pk)
        return Response(waitlist_json(entry))
