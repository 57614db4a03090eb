"""Public free/busy: one instrument's calendar, and the joint search across many. No personal data."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.parsing import query_id_list, query_int, query_time
from common.time import iso_local, local_tz
from facilities.models import Festival, Instrument

from .. import search
from ..selectors import availability_public

MAX_AVAILABILITY_DAYS = 400
DEFAULT_DAYS = 7


def _spans(name: str, kind: bool = False):
    fields: dict[str, serializers.Field] = {"start": serializers.CharField(), "end": serializers.CharField()}
    if kind:
        fields["kind"] = serializers.ChoiceField(choices=["booking", "closure"])
    return inline_serializer(name, fields, many=True)


def _window(request, *, default_days: int, max_days: int, what: str) -> tuple[dt.datetime, dt.datetime]:
    start, end = query_time(request, "start"), query_time(request, "end")
    if start is None:
        start = dt.datetime.combine(timezone.localdate(), dt.time(0), local_tz())
    if end is None:
        end = start + dt.timedelta(days=default_days)
    if end <= start:
        raise ValidationError({"end": _("The end must be after the start.")})
    if end - start > dt.timedelta(days=max_days):
        raise ValidationError(
            {
                "end": _("%(what)s covers at most %(max_days)s days; narrow the window.")
                % {"what": what, "max_days": max_days}
            }
        )
    return start, end


class InstrumentAvailability(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, description="ISO 8601 with offset; default today 00:00 (Asia/Shanghai)."),
            OpenApiParameter(
                "end",
                str,
                description=f"Default start + {DEFAULT_DAYS} days; at most {MAX_AVAILABILITY_DAYS} days after start.",
            ),
        ],
        responses=inline_serializer(
            "Availability",
            {
                "instrument": serializers.IntegerField(),
                "version": serializers.IntegerField(),
                "start": serializers.CharField(),
                "end": serializers.CharField(),
                "busy": _spans("BusySpan", kind=True),
                "free": _spans("FreeSpan"),
                "holidays": inline_serializer(
                    "PublicHoliday",
                    {
                        "date": serializers.DateField(),
                        "kind": serializers.CharField(help_text="holiday (closed) or makeup (a weekend day worked)"),
                        "festival": serializers.ChoiceField(choices=Festival.values),
                        "provisional": serializers.BooleanField(
                            help_text="True while the State Council has not published the year's schedule: the "
                            "statutory holiday is applied and may still change."
                        ),
                    },
                    many=True,
                    help_text="Public holidays (closed) and make-up workdays (open) in the window, for instruments "
                    "of facilities that follow the office calendar; empty for the others.",
                ),
            },
        ),
    )
    def get(self, request, pk: int):
        instrument = get_object_or_404(Instrument.objects.select_related("facility"), pk=pk)
        start, end = _window(
            request, default_days=DEFAULT_DAYS, max_days=MAX_AVAILABILITY_DAYS, what="An availability query"
        )
        return HttpResponse(availability_public(instrument, start, end), content_type="application/json")


class JointAvailability(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "instruments", str, required=True, description=f"Comma-separated ids, at most {search.MAX_INSTRUMENTS}."
            ),
            OpenApiParameter("duration_minutes", int, required=True),
            OpenApiParameter("start", str, description="ISO 8601 with offset; default now."),
            OpenApiParameter(
                "end",
                str,
                description=f"Default start + {DEFAULT_DAYS} days; at most {search.MAX_WINDOW_DAYS} days after start.",
            ),
        ],
        responses=inline_serializer("JointWindows", {"windows": _spans("Window")}),
    )
    def get(self, request):
        ids = query_id_list(request, "instruments", limit=search.MAX_INSTRUMENTS)
        duration = query_int(request, "duration_minutes", minimum=1, maximum=366 * 1440, required=True)
        now = timezone.now()
        start, end = query_time(request, "start"), query_time(request, "end")
        start = start or now
        end = end or start + dt.timedelta(days=DEFAULT_DAYS)
        search.check_window(start, end)
        instruments = search.bookable_instruments(ids)
        assert duration is not None  # required=True: query_int raised otherwise
        windows = search.joint_windows(
            instruments=instruments, duration_minutes=duration, start=start, end=end, now=now
        )
        return Response({"windows": [{"start": iso_local(s), "end": iso_local(e)} for s, e in windows]})
