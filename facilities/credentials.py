"""Writes of API tokens, and what a change of credentials does (docs/security.md, "Sign-in and tokens").

A token's key is made here and returned once; only its digest is stored. Its owner lists, makes, rotates
and revokes their tokens; a platform administrator revokes anyone's. Changing a password or deactivating
an account revokes every token of that person, and after commit `credentials_changed` tells the layers
above (live sockets close).
"""

import datetime as dt
from functools import partial

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import Conflict

from .models import ApiToken, User
from .models.tokens import PREFIX_LENGTH, digest_of, new_key
from .signals import credentials_changed

# A token that was used within this long is not written to again just to say so.
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


def _lock_user(user_id: int) -> None:
    list(User.objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True))


def _active(user_id: int, now: dt.datetime):
    return ApiToken.objects.filter(user_id=user_id, revoked_at__isnull=True, expires_at__gt=now)


def _revoke(token: ApiToken, *, by: User | None, because: str, now: dt.datetime) -> None:
    token.revoked_at = now
    token.revoked_by = by
    token.revoked_because = because
    token.save(update_fields=["revoked_at", "revoked_by", "revoked_because"])  # one audit entry each


def create_token(*, user: User, name: str, days: int | None = None, from_sign_in: bool = False) -> tuple[ApiToken, str]:
    """Make a token for `user`; returns it and its key, which is never shown again. A sign-in token
    (POST /api/v1/auth/token/) beyond the limit replaces the user's oldest sign-in token; a named one is
    refused (409)."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name, e.g. the script that will use it.")})
    if len(name) > 100:
        raise ValidationError({"name": _("A token's name is at most 100 characters.")})
    days = settings.API_TOKEN_DAYS if days is None else days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise ValidationError(
            {"expires_in_days": _("A token lasts from 1 to %(max)d days.") % {"max": settings.API_TOKEN_MAX_DAYS}}
        )
    now = timezone.now()
    with transaction.atomic():
        _lock_user(user.pk)  # the count below holds until commit
        active = _active(user.pk, now)
        excess = active.count() + 1 - settings.API_TOKEN_MAX_ACTIVE
        if excess > 0:
            if not from_sign_in:
                raise Conflict(
                    "too_many_tokens",
                    _("You hold %(max)d active tokens, the most allowed: revoke one first.")
                    % {"max": settings.API_TOKEN_MAX_ACTIVE},
                )
            oldest = list(active.filter(from_sign_in=True).order_by("created_at", "id")[:excess])
            if len(oldest) < excess:
                raise Conflict(
                    "too_many_tokens",
                    _("You hold %(max)d active tokens, the most allowed: revoke one first.")
                    % {"max": settings.API_TOKEN_MAX_ACTIVE},
                )
            for token in oldest:
                _revoke(token, by=user, because=ApiToken.RevokedBecause.REPLACED, now=now)
        key = new_key()
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=key[:PREFIX_LENGTH],
            digest=digest_of(key),
            from_sign_in=from_sign_in,
            created_at=now,
            expires_at=now + dt.timedelta(days=days),
        )
    return token, key


def _own_token_for_update(*, by: User, token_id: int, admin_may: bool) -> ApiToken:
    token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
    if token is None or not (token.user_id == by.pk or (admin_may and by.is_superuser)):
        # Another person's token is not even said to exist.
        raise Http404
    return token


def revoke_token(*, by: User, token_id: int) -> ApiToken:
    """Its owner, or a platform administrator, revokes a token: the next request with it gets 401."""
    with transaction.atomic():
        token = _own_token_for_update(by=by, token_id=token_id, admin_may=True)
        if not token.can_be_revoked():
            raise Conflict("already_revoked", _("This token is revoked already."))
        because = ApiToken.RevokedBecause.OWNER if token.user_id == by.pk else ApiToken.RevokedBecause.ADMIN
        _revoke(token, by=by, because=because, now=timezone.now())
    return token


def rotate_token(*, by: User, token_id: int, days: int | None = None) -> tuple[ApiToken, str]:
    """Its owner replaces a token's key: a new token of the same name and lifetime (or `days`), the old one
    revoked at once. Returns the new token and its key."""
    with transaction.atomic():
        old = _own_token_for_update(by=by, token_id=token_id, admin_may=False)
        if not old.can_be_revoked():
            raise Conflict("already_revoked", _("This token is revoked already; make a new one instead."))
        now = timezone.now()
        _revoke(old, by=by, because=ApiToken.RevokedBecause.ROTATED, now=now)
        same = round((old.expires_at - old.created_at) / dt.timedelta(days=1))
        lifetime = max(1, min(settings.API_TOKEN_MAX_DAYS, same)) if days is None else days
        token, key = create_token(user=by, name=old.name, days=lifetime, from_sign_in=old.from_sign_in)
    return token, key


def revoke_all_tokens(*, user_id: int, because: str, by: User | None = None) -> int:
    """Revoke every live token of a person (password changed, account deactivated)."""
    now = timezone.now()
    with transaction.atomic():
        tokens = list(ApiToken.objects.select_for_update().filter(user_id=user_id, revoked_at__isnull=True))
        for token in tokens:
            _revoke(token, by=by, because=because, now=now)
    return len(tokens)


def token_in_use(token: ApiToken) -> None:
    """Note that a token was used, at most once per LAST_USED_RESOLUTION (no write on most requests)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


# --- a change of credentials -------------------------------------------------------------------------


@receiver(pre_save, sender=User, dispatch_uid="credentials.note_change")
def _note_credentials_change(sender, instance: User, update_fields=None, raw=False, **kwargs) -> None:
    """Before a user is saved, compare the password and the active flag with the stored ones."""
    instance._credentials_change = None  # type: ignore[attr-defined]
    if raw or instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return  # e.g. last_login at every sign-in: no read
    stored = User.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if stored is None:
        return
    # Django upgrades a stored hash at sign-in (check_password's setter) by saving only the password with
    # `_password` cleared: the same password, so no change of credentials.
    only_password = update_fields is not None and set(update_fields) == {"password"}
    upgrade = only_password and getattr(instance, "_password", None) is None
    if stored["is_active"] and not instance.is_active:
        instance._credentials_change = ApiToken.RevokedBecause.DEACTIVATED  # type: ignore[attr-defined]
    elif stored["password"] != instance.password and not upgrade:
        instance._credentials_change = ApiToken.RevokedBecause.PASSWORD_CHANGED  # type: ignore[attr-defined]


@receiver(post_save, sender=User, dispatch_uid="credentials.apply_change")
def _apply_credentials_change(sender, instance: User, created=False, **kwargs) -> None:
    because = getattr(instance, "_credentials_change", None)
    if not because:
        return
    instance._credentials_change = None  # type: ignore[attr-defined]
    revoke_all_tokens(user_id=instance.pk, because=because)
    transaction.on_commit(
        partial(credentials_changed.send, sender=User, user_id=instance.pk, reason=str(because), session_key=None)
    )


@receiver(user_logged_out, dispatch_uid="credentials.signed_out")
def _signed_out(sender, request, user, **kwargs) -> None:
    """Signing out ends one session: the sockets opened with it close (tokens stay)."""
    if user is None or request is None:
        return
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    transaction.on_commit(
        partial(credentials_changed.send, sender=User, user_id=user.pk, reason="signed_out", session_key=session_key)
    )
