"""Research groups over HTTP: the leader and the institution's administrators manage the group; its
members and leader read it, with the hours each group limit has used (docs/identity.md). The leader
sees the members' bookings through `GET bookings/`."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.parsing import JSONParser, StrictIntegerField, StrictTextField, json_body
from facilities import institution_admin as services
from facilities.api.people import administered_institution
from facilities.models import FundingAccount, GroupHourLimit, GroupMember, Instrument, ResearchGroup
from facilities.selectors import administers, groups_visible_to

from ..selectors import group_usage


def _validated(serializer_class, data: dict) -> dict:
    s = serializer_class(data=data)
    s.is_valid(raise_exception=True)
    return s.validated_data


class GroupSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    institution = serializers.CharField(source="institution.code")
    leader = serializers.CharField(source="leader.username")


class GroupMemberSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    kind = serializers.CharField()


class GroupLimitUsageSerializer(serializers.Serializer):
    instrument = serializers.IntegerField()
    instrument_code = serializers.CharField()
    period = serializers.CharField()
    max_hours = serializers.IntegerField()
    held_hours = serializers.FloatField()
    period_start = serializers.CharField()
    period_end = serializers.CharField()


class GroupSpendingLimitSerializer(serializers.Serializer):
    account = serializers.CharField()
    max_amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class GroupDetailSerializer(GroupSerializer):
    members = GroupMemberSerializer(many=True)
    accounts = serializers.ListField(child=serializers.CharField())
    limits = GroupLimitUsageSerializer(many=True)
    spending_limits = GroupSpendingLimitSerializer(many=True)


class GroupInSerializer(serializers.Serializer):
    name = StrictTextField(max_length=200)
    leader = StrictTextField(max_length=150)


class GroupMemberInSerializer(serializers.Serializer):
    username = StrictTextField(max_length=150)
    kind = serializers.ChoiceField(choices=GroupMember.Kind.choices, default=GroupMember.Kind.STUDENT)


class GroupSpendingLimitInSerializer(serializers.Serializer):
    account = StrictIntegerField(min_value=1, max_value=2**53)
    max_amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, allow_null=True)


class GroupLimitInSerializer(serializers.Serializer):
    instrument = StrictIntegerField(min_value=1, max_value=2**53)
    period = serializers.ChoiceField(choices=GroupHourLimit.Period.choices)
    max_hours = StrictIntegerField(min_value=0, max_value=100_000, allow_null=True)


def visible_group(request, pk: int) -> ResearchGroup:
    group = groups_visible_to(request.user).filter(pk=pk).first()
    if group is None:
        raise Http404(_("No such research group."))
    return group


def detail_json(group: ResearchGroup) -> dict:
    members = GroupMember.objects.filter(group=group).select_related("user").order_by("user__username")
    return {
        "id": group.pk,
        "name": group.name,
        "institution": group.institution.code,
        "leader": group.leader.username,
        "members": [{"username": m.user.username, "kind": m.kind} for m in members],
        "accounts": sorted(group.accounts.values_list("code", flat=True)),
        "limits": group_usage(group, now=timezone.now()),
        "spending_limits": [
            {"account": code, "max_amount": f"{amount:.2f}"}
            for code, amount in group.spending_limits.order_by("account__code").values_list(
                "account__code", "max_amount"
            )
        ],
    }


class GroupList(generics.ListAPIView):
    """Groups the user leads or belongs to, and all groups of institutions they administer."""

    serializer_class = GroupSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return groups_visible_to(self.request.user).order_by("institution__code", "name")


class InstitutionGroups(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(request=GroupInSerializer, responses={201: GroupDetailSerializer})
    def post(self, request, code: str):
        institution = administered_institution(request, code)
        data = _validated(GroupInSerializer, json_body(request))
        group = services.group_create(
            actor=request.user, institution=institution, name=data["name"], leader=data["leader"]
        )
        return Response(detail_json(group), status=status.HTTP_201_CREATED)


class GroupDetail(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: GroupDetailSerializer})
    def get(self, request, pk: int):
        return Response(detail_json(visible_group(request, pk)))


class GroupMembers(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(request=GroupMemberInSerializer, responses={201: GroupDetailSerializer})
    def post(self, request, pk: int):
        group = visible_group(request, pk)
        data = _validated(GroupMemberInSerializer, json_body(request))
        services.group_member_add(actor=request.user, group=group, username=data["username"], kind=data["kind"])
        return Response(detail_json(group), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("username", str, required=True, description="Whom to remove.")],
        responses={204: None},
    )
    def delete(self, request, pk: int):
        group = visible_group(request, pk)
        username = request.query_params.get("username", "")
        if not username or len(username) > 150:
            raise ValidationError({"username": _("Give the username of the member to remove.")})
        services.group_member_remove(actor=request.user, group=group, username=username)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GroupLimits(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(request=GroupLimitInSerializer, responses={200: GroupDetailSerializer})
    def put(self, request, pk: int):
        group = visible_group(request, pk)
        if not administers(request.user, group.institution_id):
            raise PermissionDenied(_("Only the institution's administrators set a group's limits."))
        data = _validated(GroupLimitInSerializer, json_body(request))
        instrument = Instrument.objects.filter(pk=data["instrument"]).first()
        if instrument is None:
            raise ValidationError(
                {"instrument": _("No instrument has the id %(data)s.") % {"data": data["instrument"]}}
            )
        services.group_limit_set(
            actor=request.user, group=group, instrument=instrument, period=data["period"], max_hours=data["max_hours"]
        )
        return Response(detail_json(group))


class GroupSpendingLimits(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(request=GroupSpendingLimitInSerializer, responses={200: GroupDetailSerializer})
    def put(self, request, pk: int):
        group = visible_group(request, pk)
        if not administers(request.user, group.institution_id):
            raise PermissionDenied(_("Only the institution's administrators set a group's limits."))
        data = _validated(GroupSpendingLimitInSerializer, json_body(request))
        account = FundingAccount.objects.filter(pk=data["account"]).first()
        if account is None:
            raise ValidationError({"account": _("No account has the id %(data)s.") % {"data": data["account"]}})
        services.group_spending_limit_set(
            actor=request.user, group=group, account=account, max_amount=data["max_amount"]
        )
        return Response(detail_json(group))
