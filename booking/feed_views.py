"""HTTP adapters for the calendar feeds, the feed-token rotation and notification preferences.

Feeds are read by calendar clients that cannot log in: the personal and facility feeds are authorised by
the user's calendar token (a secret in the URL that the user can revoke by rotating it); the instrument
feed is public and carries no personal data.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, quote_etag
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, renderers, serializers
from rest_framework.exceptions import APIException
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from facilities.models import Facility, Instrument, User
from facilities.selectors import is_manager_of

from . import feeds
from .notifications.preferences import preferences_of, set_preferences

MAX_TOKEN_LENGTH = 64


def _user_by_token(token: str | None) -> User:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise Http404(_("No calendar has this address; the link may have been replaced by a newer one."))
    user = User.objects.filter(calendar_token=token, is_active=True).first()
    if user is None:
        raise Http404(_("No calendar has this address; the link may have been replaced by a newer one."))
    return user


def _serve(request: HttpRequest, feed: feeds.Feed, *, filename: str, public: bool) -> HttpResponse:
    response = HttpResponse(feed.body, content_type="text/calendar; charset=utf-8")
    response["ETag"] = quote_etag(feed.etag)
    response["Last-Modified"] = http_date(feed.last_modified.timestamp())
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    # Token feeds must not sit in shared caches; the public busy feed may, briefly.
    response["Cache-Control"] = "public, max-age=300" if public else "private, no-cache"
    if not public:
        response["Referrer-Policy"] = "no-referrer"
    # A 304 or 412 when the client's copy is current, else the response itself (never None when given one).
    conditional = get_conditional_response(
        request, etag=response["ETag"], last_modified=int(feed.last_modified.timestamp()), response=response
    )
    return conditional or response


class ICalendarRenderer(renderers.BaseRenderer):
    """Feeds are built as text/calendar bodies by booking.feeds; this renderer only names the media type
    for content negotiation and the schema (errors are answered in plain text, see FeedView)."""

    media_type = "text/calendar"
    format = "ics"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else str(data).encode()


class AnyAccept(BaseContentNegotiation):
    """Calendar clients send all kinds of Accept headers; a feed is what they get, whatever they say."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class FeedView(APIView):
    """A calendar feed: public or authorised by a token in its URL, never by a session or an API token.
    Calendar clients show an error body as it is, so errors are plain words, not JSON or HTML."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    renderer_classes = [ICalendarRenderer]
    content_negotiation_class = AnyAccept
    http_method_names = ["get", "head", "options"]

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        data = response.data if isinstance(response, Response) else None
        detail = data.get("detail") if isinstance(data, dict) else None
        plain = HttpResponse(str(detail or exc), status=response.status_code, content_type="text/plain; charset=utf-8")
        for header in ("Allow", "Retry-After"):
            if header in response:
                plain[header] = response[header]
        return plain


ICS = OpenApiResponse(OpenApiTypes.STR, description="An iCalendar (RFC 5545) feed; answers 304 to a current ETag.")
FEED_ERRORS = {
    (304, "text/plain"): OpenApiResponse(
        description="The client's copy (If-None-Match, If-Modified-Since) is current."
    ),
    (404, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="No such calendar, in plain words."),
}


class PersonalFeed(FeedView):
    @extend_schema(
        operation_id="calendar_personal_feed",
        tags=["calendar"],
        summary="The holder's bookings as an iCalendar feed",
        description="`token` is the user's calendar token (`calendar_url` of `GET /api/v1/me/`); rotating it "
        "at `POST /calendar/token/rotate/` stops the old address at once.",
        auth=[],
        responses={(200, "text/calendar"): ICS, **FEED_ERRORS},
    )
    def get(self, request, token: str):
        user = _user_by_token(token)
        return _serve(request, feeds.personal_feed(user), filename="sanjiao.ics", public=False)


class InstrumentFeed(FeedView):
    @extend_schema(
        operation_id="calendar_instrument_feed",
        tags=["calendar"],
        summary="An instrument's busy times as an iCalendar feed (public, no personal data)",
        description="Busy times only, labelled booked or closed: no requester, purpose or institution. "
        "By default the feed covers the past `FEED_INSTRUMENT_PAST_DAYS` (30) days to the end of the "
        "instrument's booking horizon; `start` and `end` (local days, half-open) narrow it, and are clipped "
        "to that default.",
        parameters=[
            OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The instrument."),
            OpenApiParameter(
                "start", OpenApiTypes.DATE, OpenApiParameter.QUERY, description="First local day shown (YYYY-MM-DD)."
            ),
            OpenApiParameter(
                "end", OpenApiTypes.DATE, OpenApiParameter.QUERY, description="First local day no longer shown."
            ),
        ],
        auth=[],
        responses={
            (200, "text/calendar"): ICS,
            **FEED_ERRORS,
            (400, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="A bad `start` or `end`, in words."),
        },
    )
    def get(self, request, pk: int):
        instrument = Instrument.objects.select_related("facility").filter(pk=pk, active=True).first()
        if instrument is None:
            raise Http404(_("No such instrument."))
        first_day, until_day = _day_param(request, "start"), _day_param(request, "end")
        if first_day and until_day and until_day <= first_day:
            raise BadWindow(_("“end” must be a later day than “start”."))
        window = feeds.instrument_window(instrument, first_day=first_day, until_day=until_day)
        feed = feeds.instrument_feed(instrument, window=window)
        return _serve(request, feed, filename=f"{instrument.code}.ics", public=True)


class BadWindow(APIException):
    status_code = 400
    default_code = "bad_window"


def _day_param(request: HttpRequest, name: str) -> dt.date | None:
    """A local day, YYYY-MM-DD, or None when not given; anything else is a 400 in plain words."""
    raw = request.GET.get(name)
    if raw is None:
        return None
    try:
        if len(raw) != 10:
            raise ValueError
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadWindow(_("“%(name)s” must be a day written YYYY-MM-DD, like 2026-12-01.") % {"name": name}) from None


class FacilityFeed(FeedView):
    @extend_schema(
        operation_id="calendar_facility_feed",
        tags=["calendar"],
        summary="A facility's bookings as an iCalendar feed, for its managers",
        parameters=[
            OpenApiParameter(
                "token",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                required=True,
                description="A manager's calendar token.",
            )
        ],
        auth=[],
        responses={
            (200, "text/calendar"): ICS,
            **FEED_ERRORS,
            (403, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="The token's owner does not manage it."),
        },
    )
    def get(self, request, code: str):
        user = _user_by_token(request.GET.get("token"))
        facility = Facility.objects.filter(code__iexact=code).first()
        if facility is None:
            raise Http404(_("No such facility."))
        if not (user.is_superuser or is_manager_of(user, facility.pk)):
            raise PermissionDenied(
                _("The owner of this calendar token does not manage %(code)s.") % {"code": facility.code}
            )
        feed = feeds.facility_feed(facility, language=user.language or "en")
        return _serve(request, feed, filename=f"{facility.code}.ics", public=False)


personal_feed = PersonalFeed.as_view()
instrument_feed = InstrumentFeed.as_view()
facility_feed = FacilityFeed.as_view()


def calendar_url(request, user: User) -> str:
    return request.build_absolute_uri(f"/calendar/{user.calendar_token}.ics")


class RotateToken(APIView):
    """POST: replace the caller's calendar token. Every feed URL carrying the old token stops working at once."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=None,
        responses={200: inline_serializer("CalendarUrl", {"calendar_url": serializers.URLField()})},
    )
    def post(self, request):
        request.user.rotate_calendar_token()
        return Response({"calendar_url": calendar_url(request, request.user)})


class PreferencesSerializer(serializers.Serializer):
    manager_digest = serializers.BooleanField()


class Preferences(APIView):
    """GET / PUT / PATCH the caller's notification preferences: `{"manager_digest": bool}`."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = PreferencesSerializer  # for the schema

    def get(self, request):
        return Response(PreferencesSerializer(preferences_of(request.user)).data)

    def put(self, request):
        return self._save(request, partial=False)

    def patch(self, request):
        return self._save(request, partial=True)

    def _save(self, request, *, partial: bool):
        data = PreferencesSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        prefs = set_preferences(user=request.user, **data.validated_data)
        return Response(PreferencesSerializer(prefs).data)
