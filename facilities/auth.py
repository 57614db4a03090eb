"""API token authentication, read with one plain query.

It runs before every API call. DRF's own check builds an ORM join for it, and on this stack building
that query (or a raw() queryset's model mapping) costs several times the read, so the same read is
written once here and its row built with sql.instance. The answers are DRF's: an unknown key or an
inactive user is a 401 with DRF's message.
"""

from functools import cache

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from .models import User
from .sql import columns, instance, rows


@cache
def _sql() -> str:
    return (
        f"SELECT {columns(User, 'u')} FROM {User._meta.db_table} u JOIN {Token._meta.db_table} t ON t.user_id = u.id"
        " WHERE t.key = %s"
    )


@cache
def token_owner_sql() -> str:
    """A scalar subquery for other reads to embed: the id of the active user owning the key bound to
    its one %s, or NULL. It saves a hot path the round trip of reading the user first."""
    return (
        f"(SELECT u.id FROM {User._meta.db_table} u JOIN {Token._meta.db_table} t ON t.user_id = u.id"
        " WHERE t.key = %s AND u.is_active)"
    )


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        found = rows(_sql(), [key])
        user = instance(User, found[0]) if found else None
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=key, user=user)
