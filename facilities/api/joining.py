"""Institution administrators decide requests to join their institution (docs/identity.md, "Joining an
institution"). As for the other people endpoints: anyone signed in who does not administer the
institution gets 403 before anything is looked up; for a request's own URL, an administrator of another
institution gets 404."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from common.parsing import JSONParser

from ..joining import decide_join_request
from ..models import JoinRequest
from ..selectors import administered_institution_ids, administers, join_requests_for
from .people import administered_institution


class JoinRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    username = serializers.CharField(source="user.username")
    name = serializers.CharField(source="user.get_full_name")
    email = serializers.CharField(source="user.email")
    institution = serializers.CharField(source="institution.code")
    via = serializers.CharField(help_text="federated, email_domain or request")
    affiliation = serializers.CharField()
    state = serializers.CharField(help_text="pending, approved or declined")
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decided_by = serializers.SerializerMethodField()

    def get_decided_by(self, obj: JoinRequest) -> str | None:
        return obj.decided_by.get_username() if obj.decided_by is not None else None


@extend_schema(
    parameters=[
        OpenApiParameter(
            "state", OpenApiTypes.STR, enum=list(JoinRequest.State.values), description="Only requests in this state."
        )
    ]
)
class InstitutionJoinRequests(generics.ListAPIView):
    """GET: the institution's requests to join, pending first (oldest first), then decided ones."""

    serializer_class = JoinRequestSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        qs = join_requests_for(administered_institution(self.request, self.kwargs["code"]))
        state = self.request.query_params.get("state", "")
        if state:
            if state not in JoinRequest.State.values:
                raise ValidationError(
                    {"state": _("Choose one of: %(v)s.") % {"v": ", ".join(JoinRequest.State.values)}}
                )
            qs = qs.filter(state=state)
        return qs


def _join_request(request, pk: int) -> JoinRequest:
    found = JoinRequest.objects.select_related("institution", "user").filter(pk=pk).first()
    if found is None or not administers(request.user, found.institution_id):
        if not request.user.is_superuser and not administered_institution_ids(request.user):
            raise PermissionDenied(_("Only institution administrators may do that."))
        raise Http404(_("No such request at an institution you administer."))
    return found


class _Decide(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]
    approve = True

    @extend_schema(request=None, responses={200: JoinRequestSerializer})
    def post(self, request, pk: int):
        decided = decide_join_request(actor=request.user, join_request=_join_request(request, pk), approve=self.approve)
        return Response(JoinRequestSerializer(decided).data)


class JoinRequestApprove(_Decide):
    """The person becomes a researcher of the institution. Only a pending request (else 400)."""

    approve = True


class JoinRequestDecline(_Decide):
    """The person does not become a member; they may ask again. Only a pending request (else 400)."""

    approve = False
