"""HTTP adapters for the calendar feeds, the feed-token rotation and notification preferences.

Feeds are read by calendar clients that cannot log in: the personal and facility feeds are authorised by
the user's calendar token (a secret in the URL that the user can revoke by rotating it); the instrument
feed is public and carries no personal data.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, quote_etag
from django.views.decorators.http import require_http_methods
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from facilities.models import Facility, Instrument, User
from facilities.selectors import is_manager_of

from . import feeds
from .notifications.preferences import preferences_of, set_preferences

MAX_TOKEN_LENGTH = 64


def _user_by_token(token: str | None) -> User:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise Http404("No calendar has this address; the link may have been replaced by a newer one.")
    user = User.objects.filter(calendar_token=token, is_active=True).first()
    if user is None:
        raise Http404("No calendar has this address; the link may have been replaced by a newer one.")
    return user


def plain_errors(view):
    """Calendar clients show a feed's error body as-is: answer in plain words, not an HTML page."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Http404 as exc:
            return HttpResponse(str(exc) or "Not found.", status=404, content_type="text/plain; charset=utf-8")
        except PermissionDenied as exc:
            return HttpResponse(str(exc) or "Forbidden.", status=403, content_type="text/plain; charset=utf-8")

    return wrapped


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


@plain_errors
@require_http_methods(["GET", "HEAD"])
def personal_feed(request: HttpRequest, token: str) -> HttpResponse:
    user = _user_by_token(token)
    return _serve(request, feeds.personal_feed(user), filename="sanjiao.ics", public=False)


@plain_errors
@require_http_methods(["GET", "HEAD"])
def instrument_feed(request: HttpRequest, pk: int) -> HttpResponse:
    instrument = Instrument.objects.select_related("facility").filter(pk=pk, active=True).first()
    if instrument is None:
        raise Http404("No such instrument.")
    return _serve(request, feeds.instrument_feed(instrument), filename=f"{instrument.code}.ics", public=True)


@plain_errors
@require_http_methods(["GET", "HEAD"])
def facility_feed(request: HttpRequest, code: str) -> HttpResponse:
    user = _user_by_token(request.GET.get("token"))
    facility = Facility.objects.filter(code__iexact=code).first()
    if facility is None:
        raise Http404("No such facility.")
    if not (user.is_superuser or is_manager_of(user, facility.pk)):
        raise PermissionDenied(f"The owner of this calendar token does not manage {facility.code}.")
    feed = feeds.facility_feed(facility, language=user.language or "en")
    return _serve(request, feed, filename=f"{facility.code}.ics", public=False)


def calendar_url(request, user: User) -> str:
    return request.build_absolute_uri(f"/calendar/{user.calendar_token}.ics")


class RotateToken(APIView):
    """POST: replace the caller's calendar token. Every feed URL carrying the old token stops working at once."""

    permission_classes = [permissions.IsAuthenticated]

    def post(self, request):
        request.user.rotate_calendar_token()
        return Response({"calendar_url": calendar_url(request, request.user)})


class PreferencesSerializer(serializers.Serializer):
    manager_digest = serializers.BooleanField()


class Preferences(APIView):
    """GET / PUT / PATCH the caller's notification preferences: `{"manager_digest": bool}`."""

    permission_classes = [permissions.IsAuthenticated]

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
