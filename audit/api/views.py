"""Thin adapters: the audit trail (read-only), a person's own data, and anonymising a departed person."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api.views import FileNegotiation
from billing.exports.csv_export import csv_response
from facilities.services import person_anonymise

from ..privacy import personal_data, zip_response
from ..selectors import CSV_HEADER, csv_rows, entries_visible_to, parse_filters
from .serializers import AnonymisedSerializer, AuditEntrySerializer

FILTERS = [
    OpenApiParameter("model", str, description='"app_label.model", e.g. "facilities.closure" or "billing.invoice"'),
    OpenApiParameter("object", str, description="The object's primary key."),
    OpenApiParameter("actor", str, description='A username, or "system" for background work.'),
    OpenApiParameter("since", str, description="First day, YYYY-MM-DD (China Standard Time)."),
    OpenApiParameter("until", str, description="Last day, YYYY-MM-DD, included."),
]


class AuditEntryList(generics.ListAPIView):
    """Institution administrators: their institution's entries; platform administrators: all. Append-only."""

    serializer_class = AuditEntrySerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=FILTERS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return entries_visible_to(self.request.user, parse_filters(self.request.query_params))


class AuditEntryExport(APIView):
    """The same entries as CSV: one row per changed field."""

    permission_classes = [IsAuthenticated]
    content_negotiation_class = FileNegotiation  # any Accept: the answer is a file

    @extend_schema(parameters=FILTERS, responses={(200, "text/csv"): bytes})
    def get(self, request):
        entries = entries_visible_to(request.user, parse_filters(request.query_params))
        rows = csv_rows(entries.iterator(chunk_size=500))
        next(rows)  # the header, which csv_response writes itself
        return csv_response("audit-trail.csv", CSV_HEADER, rows)


class MyDataView(APIView):
    """Everything Sanjiao holds about you (PIPL), as JSON. No secrets: no password, token key or feed token."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={
            200: OpenApiResponse(
                description="profile, memberships, funding_accounts, bookings "
                "(with splits), qualifications, notifications, api_tokens, "
                "linked_identities (federated sign-ins), audit_entries (those you made)"
            )
        }
    )
    def get(self, request):
        return Response(personal_data(request.user))


class MyDataZipView(APIView):
    """The same as a ZIP: personal-data.json and one CSV per list."""

    permission_classes = [IsAuthenticated]
    content_negotiation_class = FileNegotiation

    @extend_schema(responses={(200, "application/zip"): bytes})
    def get(self, request):
        return zip_response(request.user)


class PersonAnonymiseView(APIView):
    """Platform administrators: anonymise a departed person (docs/audit.md#anonymising-a-person)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=AnonymisedSerializer)
    def post(self, request, pk: int):
        user = person_anonymise(actor=request.user, user_id=pk)
        return Response(AnonymisedSerializer(user).data)
