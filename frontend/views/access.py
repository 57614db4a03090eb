"""Who may open which page. A page refused shows a 403 that says why, in words."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from facilities.selectors import roles_of


def role_required(*roles: str):
    """Anonymous people go to sign in; signed-in people without one of `roles` get a 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            have = roles_of(request.user)
            request._sanjiao_roles = have
            if not have & set(roles):
                raise PermissionDenied(
                    _("This page is for %(who)s; your account does not have that role.")
                    % {"who": ", ".join(str(ROLE_WORDS.get(r, r)) for r in roles)}
                )
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


ROLE_WORDS = {  # gettext_lazy: read when the message is made, in the page's language
    "researcher": _l("researchers"),
    "facility_manager": _l("facility managers"),
    "finance": _l("finance officers"),
    "institution_admin": _l("institution administrators"),
    "platform_admin": _l("platform administrators"),
}
