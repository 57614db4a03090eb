"""HTTP adapters for calls, proposals, reviews and sessions: parse strictly, call the service or the
selector, shape the answer for who asks."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, permissions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from common.parsing import JSONParser, json_body, query_int
from facilities.models import Facility

from .. import selectors, services
from ..models import BeamSession, Call, Proposal, ProposalFile, ShiftRequest
from . import serializers as s

AUTH = [permissions.IsAuthenticated]
OK = inline_serializer("Ok", {"id": serializers.IntegerField(), "status": serializers.CharField()})


def _valid(serializer_class, data) -> serializers.Serializer:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer


def _proposal(request, pk: int) -> Proposal:
    proposal = selectors.proposals_visible_to(request.user).filter(pk=pk).first()
    if proposal is None:
        raise Http404(_("No such proposal, or you may not see it."))
    return proposal


def _shown(request, pk: int) -> dict:
    proposal = _proposal(request, pk)
    return s.proposal_json(proposal, selectors.role_on(request.user, proposal))


def _require_office_or_team(request, proposal: Proposal) -> str:
    role = selectors.role_on(request.user, proposal)
    if role not in ("team", "office"):
        raise PermissionDenied(_("Only the team and the user office see this."))
    return role


class CallList(generics.GenericAPIView):
    """GET: every call (public). POST: open a call (the facility's user office)."""

    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
    parser_classes = [JSONParser]
    serializer_class = s.CallOutSerializer

    @extend_schema(parameters=[OpenApiParameter("facility", str)], responses=s.CallOutSerializer(many=True))
    def get(self, request):
        qs = selectors.calls_visible_to(request.user)
        facility = request.query_params.get("facility", "").strip()[:32]
        if facility:
            qs = qs.filter(facility__code__iexact=facility)
        page = self.paginate_queryset(qs.order_by("-opens_at", "id")) or []
        return self.get_paginated_response([s.call_json(c) for c in page])

    @extend_schema(request=s.CallInSerializer, responses={201: s.CallOutSerializer})
    def post(self, request):
        data = dict(_valid(s.CallInSerializer, json_body(request)).validated_data)
        facility = Facility.objects.filter(pk=data.pop("facility")).first()
        if facility is None:
            raise ValidationError({"facility": _("No such facility.")})
        offers = [dict(o) for o in data.pop("offers", [])]
        call = services.call_create(actor=request.user, facility=facility, offers=offers, **data)
        return Response(s.call_json(selectors.calls_visible_to(request.user).get(pk=call.pk)), status=201)


class CallDetail(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=s.CallOutSerializer)
    def get(self, request, pk: int):
        call = selectors.calls_visible_to(request.user).filter(pk=pk).first()
        if call is None:
            raise Http404(_("No such call."))
        return Response(s.call_json(call))


class CallOffers(APIView):
    permission_classes = AUTH
    parser_classes = [JSONParser]

    @extend_schema(request=s.OfferInSerializer, responses=s.CallOutSerializer)
    def post(self, request, pk: int):
        call = Call.objects.select_related("facility").filter(pk=pk).first()
        if call is None:
            raise Http404(_("No such call."))
        data = _valid(s.OfferInSerializer, json_body(request)).validated_data
        services.call_offer(actor=request.user, call=call, **data)
        return Response(s.call_json(selectors.calls_visible_to(request.user).get(pk=pk)))


class CallRanking(APIView):
    """The ranked list per instrument and panel, with grades, requested and available shifts and the
    cutoff the available time implies: the call's user office only."""

    permission_classes = AUTH

    @extend_schema(
        responses=inline_serializer(
            "Ranking",
            {"call": serializers.IntegerField(), "instruments": serializers.ListField(child=serializers.DictField())},
        )
    )
    def get(self, request, pk: int):
        call = Call.objects.select_related("facility").filter(pk=pk).first()
        if call is None:
            raise Http404(_("No such call."))
        if not selectors.runs_calls_of(request.user, call.facility_id):
            raise PermissionDenied(
                _("Only the user office of %(code)s sees the ranking.") % {"code": call.facility.code}
            )
        return Response({"call": call.pk, "instruments": [s.ranking_json(r) for r in selectors.ranking(call)]})


class ProposalList(generics.GenericAPIView):
    """GET: the proposals you may see (yours, your facility's, those you review). POST: draft one."""

    permission_classes = AUTH
    parser_classes = [JSONParser]
    serializer_class = s.ProposalOutSerializer

    @extend_schema(
        parameters=[OpenApiParameter("call", int), OpenApiParameter("status", str)],
        responses=s.ProposalOutSerializer(many=True),
    )
    def get(self, request):
        qs = selectors.proposals_visible_to(request.user)
        call = query_int(request, "call")
        if call is not None:
            qs = qs.filter(call_id=call)
        wanted = request.query_params.get("status", "").strip()
        if wanted:
            if wanted not in Proposal.Status.values:
                raise ValidationError(
                    {"status": _("Status must be one of %(values)s.") % {"values": ", ".join(Proposal.Status.values)}}
                )
            qs = qs.filter(status=wanted)
        page = self.paginate_queryset(qs.order_by("-created_at", "id")) or []
        return self.get_paginated_response([s.proposal_json(p, "", full=False) for p in page])

    @extend_schema(request=s.ProposalCreateSerializer, responses={201: s.ProposalOutSerializer})
    def post(self, request):
        serializer = _valid(s.ProposalCreateSerializer, json_body(request))
        fields = serializer.to_service()  # type: ignore[attr-defined]
        call = Call.objects.filter(pk=fields.pop("call")).first()
        if call is None:
            raise ValidationError({"call": _("No such call.")})
        proposal = services.proposal_create(actor=request.user, call=call, track=fields.pop("track"), fields=fields)
        return Response(_shown(request, proposal.pk), status=status.HTTP_201_CREATED)


class ProposalDetail(APIView):
    permission_classes = AUTH
    parser_classes = [JSONParser]

    @extend_schema(responses=s.ProposalOutSerializer)
    def get(self, request, pk: int):
        return Response(_shown(request, pk))

    @extend_schema(request=s.ProposalFieldsSerializer, responses=s.ProposalOutSerializer)
    def patch(self, request, pk: int):
        serializer = _valid(s.ProposalFieldsSerializer, json_body(request))
        services.proposal_update(actor=request.user, proposal_id=pk, fields=serializer.to_service())  # type: ignore[attr-defined]
        return Response(_shown(request, pk))


class ProposalSubmit(APIView):
    permission_classes = AUTH
    parser_classes = [JSONParser]

    @extend_schema(request=None, responses=s.ProposalOutSerializer)
    def post(self, request, pk: int):
        services.proposal_submit(actor=request.user, proposal_id=pk)
        return Response(_shown(request, pk))


class ProposalWithdraw(APIView):
    permission_classes = AUTH
    parser_classes = [JSONParser]

    @extend_schema(request=s.WithdrawReasonSerializer, responses=s.ProposalOutSerializer)
    def post(self, request, pk: int):
        data = _valid(s.WithdrawReasonSerializer, json_body(request)).validated_data
        services.proposal_withdraw(actor=request.user, proposal_id=pk, reason=data["reason"])
        return Response(_shown(request, pk))


class ProposalFiles(APIView):
    """POST multipart `file`: attach a PDF, PNG, JPEG, text or CSV file (the team, until the deadline)."""

    permission_classes = AUTH
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": s.FileInSerializer},
        responses={201: OpenApiResponse(description="The file's id, name, type and size.")},
    )
    def post(self, request, pk: int):
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": _("Send the file as multipart/form-data in the field `file`.")})
        row = services.proposal_attach(actor=request.user, proposal_id=pk, upload=upload)
        return Response(
            {"id": row.pk, "name": row.name, "content_type": row.content_type, "size": row.size}, status=201
        )


class ProposalFileDownload(APIView):
    """The file, to people who may see the proposal (reviewers with a conflict of interest never do)."""

    permission_classes = AUTH

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="The file.")})
    def get(self, request, pk: int, file_id: int):
        proposal = _proposal(request, pk)
        row = ProposalFile.objects.filter(pk=file_id, proposal=proposal).first()
        if row is None:
            raise Http404(_("No such file."))
        response = FileResponse(
            row.file.open("rb"), content_type=row.content_type, as_attachment=True, filename=row.name
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response


class ProposalCheck(APIView):
    permission_classes = AUTH
    parser_classes = [JSONParser]

    @extend_schema(request=s.CheckInSerializer, responses=s.ProposalOutSerializer)
    def post(self, request, pk: int):
        data = _valid(s.CheckInSerializer, json_body(request)).validated_data
        services.check_record(actor=request.user, proposal_id=pk, **data)
        return Response(_shown(request, pk))


class ProposalPanel(APIView):
    permission_classes = AUTH
    parser_classes = [JSONParser]

    @extend_schema(request=s.PanelInSerializer, responses=s.ProposalOutSerializer)
    def post(self, request, pk: int):
        data = _valid(s.PanelInSerializer, json_body(request)).validated_data
        services.panel_set(actor=request.user, proposal_id=pk, panel=data["panel"])
        return Response(_shown(request, pk))


class ProposalReviewers(APIView):
    permission_classes = AUTH
    parser_classes = [JSONParser]

    @extend_schema(
        request=s.ReviewerInSerializer,
        responses={201: s.ProposalOutSerializer, 409: OpenApiResponse(description="conflict_of_interest")},
    )
    def post(self, request, pk: int):
        data = _valid(s.ReviewerInSerializer, json_body(request)).validated_data
        services.reviewer_assign(actor=request.user, proposal_id=pk, reviewer_username=data["reviewer"])
        return Response(_shown(request, pk), status=201)


class ProposalAward(APIView):
    permission_classes = AUTH
    parser_classes = [JSONParser]

    @extend_schema(request=s.AwardInSerializer, responses=s.ProposalOutSerializer)
    def post(self, request, pk: int):
        data = _valid(s.AwardInSerializer, json_body(request)).validated_data
        awards: dict[int, int] = {}
        for item in data["awards"]:
            if item["instrument"] in awards:
                raise ValidationError({"awards": _("Instrument %(id)s is named twice.") % {"id": item["instrument"]}})
            awards[item["instrument"]] = item["shifts"]
        services.proposal_award(actor=request.user, proposal_id=pk, awards=awards, comment=data["comment"])
        return Response(_shown(request, pk))


class ProposalLedger(APIView):
    permission_classes = AUTH

    @extend_schema(
        responses=inline_serializer(
            "Ledger",
            {
                "proposal": serializers.IntegerField(),
                "instruments": serializers.ListField(child=serializers.DictField()),
            },
        )
    )
    def get(self, request, pk: int):
        proposal = _proposal(request, pk)
        _require_office_or_team(request, proposal)
        rows = selectors.ledgers_for(ShiftRequest.objects.filter(proposal=proposal))
        return Response({"proposal": proposal.pk, "instruments": [s.ledger_json(r) for r in rows]})


class ProposalSessions(APIView):
    """GET: the proposal's sessions (team, office). POST: place awarded shifts on the calendar (office)."""

    permission_classes = AUTH
    parser_classes = [JSONParser]

    @extend_schema(
        responses=inline_serializer("Sessions", {"results": serializers.ListField(child=serializers.DictField())})
    )
    def get(self, request, pk: int):
        proposal = _proposal(request, pk)
        _require_office_or_team(request, proposal)
        return Response({"results": [s.session_json(x) for x in selectors.sessions_of(proposal)]})

    @extend_schema(
        request=s.PlaceInSerializer,
        responses={
            201: OpenApiResponse(description="The session."),
            409: OpenApiResponse(description="slot_unavailable"),
        },
    )
    def post(self, request, pk: int):
        proposal = _proposal(request, pk)
        data = _valid(s.PlaceInSerializer, json_body(request)).validated_data
        if not ShiftRequest.objects.filter(pk=data["request"], proposal=proposal).exists():
            raise ValidationError({"request": _("Not an award of this proposal.")})
        session = services.session_place(
            actor=request.user, request_id=data["request"], start=data["start"], shifts=data["shifts"]
        )
        return Response(s.session_json(selectors.sessions_of(proposal).get(pk=session.pk)), status=201)


class ProposalSuggestions(APIView):
    permission_classes = AUTH

    @extend_schema(
        parameters=[OpenApiParameter("request", int, required=True), OpenApiParameter("shifts", int, required=True)],
        responses=inline_serializer(
            "Suggestions", {"starts": serializers.ListField(child=serializers.DateTimeField())}
        ),
    )
    def get(self, request, pk: int):
        proposal = _proposal(request, pk)
        if selectors.role_on(request.user, proposal) != "office":
            raise PermissionDenied(_("Only the user office places sessions."))
        request_id = query_int(request, "request", required=True)
        shifts = query_int(request, "shifts", required=True, maximum=200)
        assert request_id is not None  # required: query_int refused a missing one
        award = (
            ShiftRequest.objects.select_related("instrument", "proposal__call")
            .filter(pk=request_id, proposal=proposal)
            .first()
        )
        if award is None:
            raise ValidationError({"request": _("Not an award of this proposal.")})
        starts = services.suggest_slots(request=award, shifts=shifts or 1)
        return Response({"starts": [x.isoformat() for x in starts]})


class ReviewList(generics.GenericAPIView):
    permission_classes = AUTH

    @extend_schema(
        responses=inline_serializer(
            "Review",
            {
                "id": serializers.IntegerField(),
                "proposal": serializers.IntegerField(),
                "grade": serializers.CharField(),
            },
            many=True,
        )
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.reviews_of(request.user)) or []
        return self.get_paginated_response([s.review_json(a) for a in page])


class ReviewGrade(APIView):
    permission_classes = AUTH
    parser_classes = [JSONParser]

    @extend_schema(
        request=s.GradeInSerializer,
        responses=inline_serializer("Graded", {"id": serializers.IntegerField(), "grade": serializers.CharField()}),
    )
    def post(self, request, pk: int):
        data = _valid(s.GradeInSerializer, json_body(request)).validated_data
        a = services.review_grade(actor=request.user, assignment_id=pk, grade=data["grade"], comment=data["comment"])
        return Response(s.review_json(selectors.reviews_of(request.user).get(pk=a.pk)))


class _SessionAction(APIView):
    permission_classes = AUTH
    parser_classes = [JSONParser]
    body: type[serializers.Serializer] | None = None

    def post(self, request, pk: int):
        data = _valid(self.body, json_body(request)).validated_data if self.body else {}
        self.act(request.user, pk, data)
        session = BeamSession.objects.select_related("request__proposal").filter(pk=pk).first()
        if session is None:  # pragma: no cover - the action found it a moment ago
            raise Http404(_("No such session."))
        return Response(s.session_json(selectors.sessions_of(session.request.proposal).get(pk=pk)))

    def act(self, user, pk: int, data: dict) -> None:  # pragma: no cover - each subclass defines it
        raise NotImplementedError


SESSION_OUT = OpenApiResponse(description="The session, with its booking, state and safety form.")


class SessionConfirm(_SessionAction):
    @extend_schema(request=None, responses=SESSION_OUT)
    def post(self, request, pk: int):
        return super().post(request, pk)

    def act(self, user, pk, data):
        services.session_confirm(actor=user, session_id=pk)


class SessionCancel(_SessionAction):
    body = s.CancelSessionSerializer

    @extend_schema(request=s.CancelSessionSerializer, responses=SESSION_OUT)
    def post(self, request, pk: int):
        return super().post(request, pk)

    def act(self, user, pk, data):
        services.session_cancel(actor=user, session_id=pk, substitute_request_id=data.get("substitute"))


class SessionFault(_SessionAction):
    body = s.FaultInSerializer

    @extend_schema(request=s.FaultInSerializer, responses=SESSION_OUT)
    def post(self, request, pk: int):
        return super().post(request, pk)

    def act(self, user, pk, data):
        services.session_fault(actor=user, session_id=pk, lost_shifts=data["lost_shifts"])


class SessionSafetyForm(_SessionAction):
    body = s.TextInSerializer

    @extend_schema(request=s.TextInSerializer, responses=SESSION_OUT)
    def post(self, request, pk: int):
        return super().post(request, pk)

    def act(self, user, pk, data):
        services.safety_submit(actor=user, session_id=pk, content=data["content"])


class SessionSafetyApprove(_SessionAction):
    @extend_schema(request=None, responses=SESSION_OUT)
    def post(self, request, pk: int):
        return super().post(request, pk)

    def act(self, user, pk, data):
        services.safety_approve(actor=user, session_id=pk)


class SessionReport(_SessionAction):
    body = s.TextInSerializer

    @extend_schema(request=s.TextInSerializer, responses=SESSION_OUT)
    def post(self, request, pk: int):
        return super().post(request, pk)

    def act(self, user, pk, data):
        services.report_submit(actor=user, session_id=pk, summary=data["content"])
