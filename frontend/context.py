"""What every page's header needs: which consoles this user may open."""

from facilities.selectors import roles_of

from .views.finance import finance_available


def nav(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_roles": set(), "finance_enabled": False}
    if not hasattr(request, "_sanjiao_roles"):
        request._sanjiao_roles = roles_of(user)
    return {"nav_roles": request._sanjiao_roles, "finance_enabled": finance_available()}
