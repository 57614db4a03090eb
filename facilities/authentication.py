"""`Authorization: Token <key>` against hashed, named, expiring tokens (facilities/models/tokens.py).

DRF's TokenAuthentication parses the header; the key is looked up by its digest on every request, so a
revoked or expired token gets 401 at once. The messages are DRF's own, in DRF's translations.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .credentials import token_in_use
from .models import ApiToken
from .models.tokens import digest_of


class ApiTokenAuthentication(TokenAuthentication):
    keyword = "Token"
    model = ApiToken

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(digest=digest_of(key)).first()
        if token is None or token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if token.is_expired():
            raise exceptions.AuthenticationFailed(_("Token has expired."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token_in_use(token)
        return (token.user, token)
