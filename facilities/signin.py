"""Sign-in defences on every entrance that takes a password: the sign-in page, the admin's sign-in page
and `POST /api/v1/auth/token/` (docs/security.md, "Sign-in and tokens").

django-axes counts failed sign-ins (`django.contrib.auth.authenticate` reports each one) per username
and, separately, per client address (`common.client.client_ip`). When either reaches
`SIGNIN_FAILURE_LIMIT` within the forgetting window, it is locked: every sign-in through it is refused,
with the right password too, answered 429. The lock lasts `SIGNIN_COOLOFF_MINUTES` after the latest
failure and doubles for every further limit's worth of failures (5 → 15 minutes, 10 → 30, 15 → 60 …,
at most `SIGNIN_COOLOFF_MAX_HOURS`); an attempt during the lock counts as a failure and starts it again.
Failures are forgotten after `SIGNIN_COOLOFF_MAX_HOURS` without one, or when the same person signs in
from the same address, or when a platform administrator unlocks the account or the address.
"""

import datetime as dt
import logging
import math

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

log = logging.getLogger("sanjiao.signin")


def forget_after() -> dt.timedelta:
    """How long failures are remembered after the latest one; also axes' counting window."""
    return dt.timedelta(hours=settings.SIGNIN_COOLOFF_MAX_HOURS)


def cool_off(request: HttpRequest | None = None) -> dt.timedelta:
    """axes' AXES_COOLOFF_TIME: the window in which failures count. The lock itself is `lock_for`."""
    return forget_after()


def lock_for(failures: int) -> dt.timedelta:
    """How long `failures` failures lock, counted from the latest one: nothing below the limit, then
    the cool-off, doubled for every further limit's worth of failures, at most the forgetting window."""
    limit = settings.SIGNIN_FAILURE_LIMIT
    if failures < limit:
        return dt.timedelta(0)
    doublings = min((failures - limit) // limit, 20)
    return min(dt.timedelta(minutes=settings.SIGNIN_COOLOFF_MINUTES * 2**doublings), forget_after())


class SignInHandler(AxesDatabaseHandler):
    """axes' database handler with a lock that backs off and ends (see the module's description)."""

    def locked_until(self, request, credentials: dict | None = None) -> dt.datetime | None:
        until = None
        for attempts in self.get_user_attempts(request, credentials):
            found = attempts.aggregate(failures=Sum("failures_since_start"), latest=Max("attempt_time"))
            if not found["failures"]:
                continue
            end = found["latest"] + lock_for(found["failures"])
            if end > timezone.now() and (until is None or end > until):
                until = end
        return until

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        return self.locked_until(request, credentials) is not None

    def user_logged_in(self, sender, request, user, **kwargs):
        super().user_logged_in(sender, request, user, **kwargs)
        # The person's own failures from this address are forgiven; those against their name from other
        # addresses, and this address's failures against other names, are not.
        AccessAttempt.objects.filter(username=user.get_username(), ip_address=request.axes_ip_address).delete()


class SignInGuardBackend(AxesStandaloneBackend):
    """Refuses every sign-in of a locked account or address (first in AUTHENTICATION_BACKENDS). A call
    without a request (a shell, a management command) is no network entrance and is not counted."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def lockout_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many failed sign-ins: signing in with this account or from this address is locked. "
        "Try again in %(minutes)d minute, or ask a platform administrator to unlock it.",
        "Too many failed sign-ins: signing in with this account or from this address is locked. "
        "Try again in %(minutes)d minutes, or ask a platform administrator to unlock it.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """axes' AXES_LOCKOUT_CALLABLE: 429 with the time left, as JSON on the API and a page elsewhere."""
    # Read after this request's failure was counted, so the time left includes it.
    until = SignInHandler().locked_until(request, credentials)
    seconds = max(1, math.ceil((until - timezone.now()).total_seconds())) if until else 60
    username = get_client_username(request, credentials)
    log.warning(
        "Sign-in refused: locked for %ss (username %r, address %s, path %s)",
        seconds,
        username,
        getattr(request, "axes_ip_address", None),
        request.path,
    )
    detail = lockout_message(seconds)
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": detail}, status=429)
    else:
        response = render(request, "frontend/account/locked_out.html", {"detail": detail}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def unlock_sign_in(*, by, username: str = "", ip_address: str = "") -> int:
    """A platform administrator lifts the lock of a username, of a client address, or both; returns how
    many failure records were removed."""
    if not getattr(by, "is_superuser", False):
        raise PermissionDenied(_("Only a platform administrator may unlock sign-in."))
    if not username and not ip_address:
        raise ValidationError(_("Name a username or a client address to unlock."))
    removed = 0
    if username:
        removed += reset(username=username)
    if ip_address:
        removed += reset(ip=ip_address)
    log.warning("Sign-in unlocked by %s (username %r, address %r)", by.get_username(), username, ip_address)
    return removed
