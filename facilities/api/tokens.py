"""A person's API tokens: list, make, rotate, revoke (docs/security.md). Thin adapters over
facilities/credentials.py; a token is seen only by its owner (another's is a 404)."""

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.parsing import StrictIntegerField, StrictTextField

from .. import selectors
from ..credentials import create_token, revoke_token, rotate_token
from ..models import ApiToken


class ApiTokenSerializer(serializers.ModelSerializer):
    active = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "revoked_because",
            "active",
        ]
        read_only_fields = fields

    def get_active(self, token: ApiToken) -> bool:
        return token.is_active(self.context.get("now"))


class NewApiTokenSerializer(ApiTokenSerializer):
    token = serializers.SerializerMethodField(help_text="The key: shown this once, never again.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields

    def get_token(self, token: ApiToken) -> str:
        return self.context["key"]


class CreateApiTokenSerializer(serializers.Serializer):
    name = StrictTextField(max_length=100)
    expires_in_days = StrictIntegerField(required=False, min_value=1, help_text="Default API_TOKEN_DAYS (90).")


class RotateApiTokenSerializer(serializers.Serializer):
    expires_in_days = StrictIntegerField(
        required=False, min_value=1, help_text="The new key's lifetime; by default the old one's."
    )


def _created(token: ApiToken, key: str) -> Response:
    return Response(NewApiTokenSerializer(token, context={"key": key}).data, status=status.HTTP_201_CREATED)


class TokenList(generics.ListAPIView):
    """GET: your tokens, newest first, revoked and expired ones too. POST: make one; its key is in the answer
    only."""

    serializer_class = ApiTokenSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return selectors.tokens_of(self.request.user)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(request=CreateApiTokenSerializer, responses={201: NewApiTokenSerializer})
    def post(self, request):
        body = CreateApiTokenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token, key = create_token(
            user=request.user, name=body.validated_data["name"], days=body.validated_data.get("expires_in_days")
        )
        return _created(token, key)


class TokenDetail(APIView):
    """GET: one of your tokens. DELETE: revoke it (it answers 401 from the next request on)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=ApiTokenSerializer)
    def get(self, request, pk: int):
        token = selectors.tokens_of(request.user).filter(pk=pk).first()
        if token is None:
            raise Http404
        return Response(ApiTokenSerializer(token).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        token = selectors.tokens_of(request.user).filter(pk=pk).first()
        if token is None:
            raise Http404  # a platform administrator revokes others' tokens in the admin
        revoke_token(by=request.user, token_id=token.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenRotate(APIView):
    """POST: replace one of your tokens by a new key of the same name (and lifetime, unless the body says
    `{"expires_in_days"}`); the old key stops working at once."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=RotateApiTokenSerializer, responses={201: NewApiTokenSerializer})
    def post(self, request, pk: int):
        body = RotateApiTokenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token, key = rotate_token(by=request.user, token_id=pk, days=body.validated_data.get("expires_in_days"))
        return _created(token, key)
