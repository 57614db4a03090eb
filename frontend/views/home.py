"""Signing in and out, and sending each person to the page their role starts from."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import reverse

from facilities.selectors import roles_of


def landing_url(user) -> str:
    if not user.is_authenticated:
        return reverse("frontend:catalog")
    roles = roles_of(user)
    if "researcher" in roles:
        return reverse("frontend:dashboard")
    if "facility_manager" in roles or "platform_admin" in roles:
        return reverse("frontend:console")
    if "finance" in roles:
        from .finance import finance_available

        if finance_available():
            return reverse("frontend:finance")
    return reverse("frontend:catalog")


def home(request):
    return redirect(landing_url(request.user))


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return landing_url(self.request.user)

    def form_valid(self, form):
        # Pages follow the language the person chose before, on any device they sign in from.
        response = super().form_valid(form)
        language = form.get_user().language
        if language in dict(settings.LANGUAGES):
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                secure=settings.LANGUAGE_COOKIE_SECURE,
            )
        return response


class LogoutView(auth_views.LogoutView):
    next_page = "frontend:catalog"
