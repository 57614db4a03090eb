from django.contrib.auth import authenticate, user_logged_in
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.audit import acting_as

from .. import selectors
from ..accounts import email_verification_pending
from ..credentials import create_token
from ..holidays import FIRST_YEAR, LAST_YEAR, year_days
from ..models import Festival, HolidaySchedule
from ..models.catalog import FacilityCategory, Instrument
from ..models.tenants import Province
from .filters import choice_param, text_param
from .serializers import (
    AccountSerializer,
    FacilityDetailSerializer,
    FacilitySerializer,
    InstrumentSerializer,
    MeSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)

# Not translated: it names the token in the owner's list, whatever language the script spoke.
SIGN_IN_TOKEN_NAME = "API sign-in"


class TokenView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(description="Unknown username or wrong password."),
            429: OpenApiResponse(
                description="Too many failed sign-ins for this username or from this address; `Retry-After` "
                "says when to try again (docs/security.md)."
            ),
        },
    )
    def post(self, request):
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # Django's request, not DRF's: the sign-in defences mark a locked-out request on it, and their
        # middleware answers it with 429 (facilities/signin.py).
        user = authenticate(
            request._request, username=body.validated_data["username"], password=body.validated_data["password"]
        )
        if user is None or not user.is_active:
            raise ValidationError(_("Unknown username or wrong password."))
        if email_verification_pending(user):
            raise ValidationError(
                _("Confirm your e-mail address first: follow the link in the mail we sent when you registered.")
            )
        # A token is a sign-in: last_login moves, and the defences forgive this person's failures here.
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        # Each sign-in makes a new token (only digests are stored, so an old key cannot be handed out again).
        with acting_as(user):  # no one is signed in yet: the trail names the person the token is for
            _token, key = create_token(user=user, name=SIGN_IN_TOKEN_NAME, from_sign_in=True)
        return Response({"token": key})


class MeView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        institution = selectors.primary_institution(user)
        return Response(
            {
                "username": user.username,
                "institution": institution.code if institution else None,
                "roles": sorted(selectors.roles_of(user)),
                "calendar_url": request.build_absolute_uri(f"/calendar/{user.calendar_token}.ics"),
            }
        )


class FacilityList(generics.ListAPIView):
    serializer_class = FacilitySerializer
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("province", enum=[c for c, _ in Province.choices]),
            OpenApiParameter("city", str),
            OpenApiParameter("category", enum=[c for c, _ in FacilityCategory.choices]),
            OpenApiParameter("q", str, description="Free text over code, names, host and city."),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        r = self.request
        return selectors.facility_list(
            province=choice_param(r, "province", Province.choices),
            city=text_param(r, "city"),
            category=choice_param(r, "category", FacilityCategory.choices),
            q=text_param(r, "q"),
        )


class FacilityDetail(generics.RetrieveAPIView):
    serializer_class = FacilityDetailSerializer
    permission_classes = [permissions.AllowAny]
    lookup_field = "code"

    def get_queryset(self):
        return selectors.facility_detail_queryset()


class InstrumentList(generics.ListAPIView):
    serializer_class = InstrumentSerializer
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("facility", str, description="A facility code, e.g. SSRF."),
            OpenApiParameter(
                "category", enum=[c for c, _ in Instrument.Category.choices], description="The technique."
            ),
            OpenApiParameter(
                "q",
                str,
                description="Free text, English or Chinese (e.g. `SEM`, `电镜`, `cryo-EM`): every word is found in "
                "the instrument's code, names, technique keywords or description, or its facility's code, names, "
                "host or city.",
            ),
            OpenApiParameter("province", enum=[c for c, _ in Province.choices], description="The facility's province."),
            OpenApiParameter(
                "bookable",
                enum=["true", "false"],
                description="`true`: only instruments the asking user may book (a researcher, qualified where "
                "needed, not suspended; the instrument open for booking). Anonymous callers may book none.",
            ),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        r = self.request
        facility = text_param(r, "facility", 32)
        if facility and not selectors.facility_list().filter(code__iexact=facility).exists():
            raise ValidationError(
                {"facility": _("No facility has the code %(facility)s.") % {"facility": repr(facility)}}
            )
        bookable = choice_param(r, "bookable", [("true", ""), ("false", "")]) == "true"
        qs = selectors.instrument_list(
            facility=facility,
            category=choice_param(r, "category", Instrument.Category.choices),
            q=text_param(r, "q"),
            province=choice_param(r, "province", Province.choices),
        )
        if bookable:
            qs = qs.filter(pk__in=selectors.bookable_instrument_ids(user=r.user, instruments=list(qs)))
        return qs


class InstrumentDetail(generics.RetrieveAPIView):
    serializer_class = InstrumentSerializer
    permission_classes = [permissions.AllowAny]

    def get_queryset(self):
        return selectors.instrument_list()


class AccountList(generics.ListAPIView):
    serializer_class = AccountSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return selectors.accounts_visible_to(self.request.user)


class HolidayDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    kind = serializers.CharField(help_text="holiday (closed) or makeup (a weekend day worked)")
    festival = serializers.ChoiceField(choices=Festival.values)
    name = serializers.CharField(help_text="The festival's name in the request's language.")


# `source` would shadow Field.source on a serializer class: the schema is declared inline instead.
HOLIDAY_YEAR_SCHEMA = inline_serializer(
    "HolidayYear",
    {
        "year": serializers.IntegerField(),
        "provisional": serializers.BooleanField(
            help_text="True: no schedule is published yet; the statutory holidays are applied and may still change."
        ),
        "source": serializers.CharField(allow_null=True, help_text="package, official, or null when provisional"),
        "notice": serializers.CharField(),
        "days": HolidayDaySerializer(many=True),
    },
)


class HolidayYear(APIView):
    """China's public holidays and make-up workdays of one year, as facilities that follow the office
    calendar apply them."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=HOLIDAY_YEAR_SCHEMA)
    def get(self, request, year: int):
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise Http404(
                _("Public holidays are kept for %(first_year)s–%(last_year)s.")
                % {"first_year": FIRST_YEAR, "last_year": LAST_YEAR}
            )
        provisional, days = year_days(year)
        schedule = HolidaySchedule.objects.filter(year=year).first()
        return Response(
            {
                "year": year,
                "provisional": provisional,
                "source": schedule.source if schedule else None,
                "notice": schedule.notice if schedule else "",
                "days": [
                    {"date": day.isoformat(), "kind": info.kind, "festival": info.festival, "name": info.name}
                    for day, info in days
                ],
            }
        )
