"""Institution administrators' API: their institution's members and roles, leavers, invitations and
funding accounts (docs/identity.md). Anyone signed in who does not administer the institution gets 403
before anything else is looked up, so these endpoints reveal nothing to others."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.parsing import JSONParser, StrictTextField, json_body

from .. import institution_admin as services
from ..models import FundingAccount, Institution, Membership, User
from ..models.tenants import Role
from ..selectors import administered_institution_ids, administers, members_of, user_by_username
from .serializers import AccountSerializer


def _validated(serializer_class, data: dict) -> dict:
    s = serializer_class(data=data)
    s.is_valid(raise_exception=True)
    return s.validated_data


def administered_institution(request, code: str) -> Institution:
    """403 unless the user administers an institution of that code (or is a platform admin)."""
    user = request.user
    if not user.is_superuser:
        ids = administered_institution_ids(user)
        if not Institution.objects.filter(pk__in=ids, code__iexact=code).exists():
            raise PermissionDenied(_("Only this institution's administrators may do that."))
    return get_object_or_404(Institution, code__iexact=code)


def _person(username: str) -> User:
    user = user_by_username(username)
    if user is None:
        raise ValidationError({"username": _("No user is named %(username)s.") % {"username": repr(username[:150])}})
    return user


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    username = serializers.CharField(source="user.username")
    name = serializers.CharField(source="user.get_full_name")
    email = serializers.CharField(source="user.email")
    active = serializers.BooleanField(source="user.is_active")
    role = serializers.CharField()
    facilities = serializers.SerializerMethodField()

    def get_facilities(self, obj: Membership) -> list[str]:
        return sorted(f.code for f in obj.facilities.all())


class MemberInSerializer(serializers.Serializer):
    username = StrictTextField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)
    facilities = serializers.ListField(child=StrictTextField(max_length=32), max_length=50, required=False)


class PersonSerializer(serializers.Serializer):
    username = StrictTextField(max_length=150)


class InvitationInSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices, default=Role.RESEARCHER)


class InvitationAcceptSerializer(serializers.Serializer):
    key = StrictTextField(max_length=100)
    username = StrictTextField(max_length=150, required=False, default="")
    password = StrictTextField(max_length=128, required=False, default="", trim_whitespace=False)


class AccountInSerializer(serializers.Serializer):
    code = StrictTextField(max_length=48)
    title = StrictTextField(max_length=200)
    kind = serializers.ChoiceField(choices=FundingAccount.Kind.choices, default=FundingAccount.Kind.GRANT)
    principal_investigator = StrictTextField(max_length=150)
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    budget_cap = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, allow_null=True, required=False, default=None
    )
    members = serializers.ListField(child=StrictTextField(max_length=150), max_length=500, required=False)


class AccountPatchSerializer(serializers.Serializer):
    budget_cap = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, allow_null=True, required=False)
    valid_until = serializers.DateField(required=False)
    active = serializers.BooleanField(required=False)


class AccountMembersSerializer(serializers.Serializer):
    usernames = serializers.ListField(child=StrictTextField(max_length=150), max_length=500)


class InstitutionMembers(generics.ListAPIView):
    """GET: the institution's members and roles. POST: give a person a role."""

    serializer_class = MemberSerializer
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    def get_queryset(self):
        return members_of(administered_institution(self.request, self.kwargs["code"]))

    @extend_schema(request=MemberInSerializer, responses={201: MemberSerializer})
    def post(self, request, code: str):
        institution = administered_institution(request, code)
        data = _validated(MemberInSerializer, json_body(request))
        membership = services.member_grant(
            actor=request.user,
            institution=institution,
            user=_person(data["username"]),
            role=data["role"],
            facility_codes=data.get("facilities"),
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class MembershipDetail(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, pk: int):
        membership = Membership.objects.select_related("institution").filter(pk=pk).first()
        if membership is None or not administers(request.user, membership.institution_id):
            if not administered_institution_ids(request.user) and not request.user.is_superuser:
                raise PermissionDenied(_("Only institution administrators may do that."))
            raise Http404(_("No such membership at an institution you administer."))
        services.member_revoke(actor=request.user, membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberDeactivate(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(
        request=PersonSerializer,
        responses={200: inline_serializer("MemberDeactivated", {"roles_ended": serializers.IntegerField()})},
    )
    def post(self, request, code: str):
        institution = administered_institution(request, code)
        user = _person(_validated(PersonSerializer, json_body(request))["username"])
        ended = services.member_deactivate(actor=request.user, institution=institution, user=user)
        return Response({"roles_ended": ended})


class InstitutionInvitations(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(request=InvitationInSerializer, responses={201: InvitationInSerializer})
    def post(self, request, code: str):
        institution = administered_institution(request, code)
        data = _validated(InvitationInSerializer, json_body(request))
        services.invitation_create(actor=request.user, institution=institution, email=data["email"], role=data["role"])
        return Response({"email": data["email"], "role": data["role"]}, status=status.HTTP_201_CREATED)


class InvitationAccept(APIView):
    """Anyone with the key: signed in, the invitation joins that account; otherwise give a new
    username and password and the account is made with the invited address."""

    permission_classes = [permissions.AllowAny]
    parser_classes = [JSONParser]

    @extend_schema(request=InvitationAcceptSerializer, responses={201: MemberSerializer})
    def post(self, request):
        data = _validated(InvitationAcceptSerializer, json_body(request))
        user = request.user if request.user.is_authenticated else None
        membership = services.invitation_accept(
            key=data["key"], user=user, username=data["username"], password=data["password"]
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class InstitutionAccounts(generics.ListAPIView):
    """GET: the institution's funding accounts. POST: create one, with its budget and who may charge it."""

    serializer_class = AccountSerializer
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    def get_queryset(self):
        institution = administered_institution(self.request, self.kwargs["code"])
        return FundingAccount.objects.filter(institution=institution).select_related(
            "institution", "principal_investigator"
        )

    @extend_schema(request=AccountInSerializer, responses={201: AccountSerializer})
    def post(self, request, code: str):
        institution = administered_institution(request, code)
        data = _validated(AccountInSerializer, json_body(request))
        if FundingAccount.objects.filter(code=data["code"]).exists():
            raise ValidationError({"code": _("An account with that code exists already.")})
        account = services.account_create(
            actor=request.user,
            institution=institution,
            code=data["code"],
            title=data["title"],
            kind=data["kind"],
            principal_investigator=data["principal_investigator"],
            valid_from=data["valid_from"],
            valid_until=data["valid_until"],
            budget_cap=data["budget_cap"],
            members=data.get("members"),
        )
        return Response(AccountSerializer(account).data, status=status.HTTP_201_CREATED)


def administered_account(request, pk: int) -> FundingAccount:
    account = FundingAccount.objects.select_related("institution").filter(pk=pk).first()
    if account is None or not administers(request.user, account.institution_id):
        if not administered_institution_ids(request.user) and not request.user.is_superuser:
            raise PermissionDenied(_("Only institution administrators may do that."))
        raise Http404(_("No such account at an institution you administer."))
    return account


class AccountAdmin(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(request=AccountPatchSerializer, responses={200: AccountSerializer})
    def patch(self, request, pk: int):
        account = administered_account(request, pk)
        data = _validated(AccountPatchSerializer, json_body(request))
        updated = services.account_update(
            actor=request.user,
            account=account,
            budget_cap=data["budget_cap"] if "budget_cap" in data else ...,
            valid_until=data.get("valid_until"),
            active=data.get("active"),
        )
        return Response(AccountSerializer(updated).data)


class AccountMembers(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(request=AccountMembersSerializer, responses={200: AccountSerializer})
    def put(self, request, pk: int):
        account = administered_account(request, pk)
        data = _validated(AccountMembersSerializer, json_body(request))
        updated = services.account_set_members(actor=request.user, account=account, usernames=data["usernames"])
        return Response(AccountSerializer(updated).data)
