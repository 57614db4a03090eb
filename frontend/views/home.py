"""Signing in and out, and sending each person to the page their role starts from."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from facilities.accounts import email_verification_pending
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
    if not roles:
        # No role yet: a company awaiting approval, a request to join, or a visitor. The page says which.
        return reverse("frontend:welcome")
    return reverse("frontend:catalog")


def home(request):
    return redirect(landing_url(request.user))


class SignInForm(AuthenticationForm):
    """Django's sign-in form; a person who registered here signs in once their e-mail address is verified."""

    email_unverified = False

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if email_verification_pending(user):
            self.email_unverified = True
            raise ValidationError(
                _("Confirm your e-mail address first: follow the link in the mail we sent when you registered."),
                code="email_unverified",
            )


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
    authentication_form = SignInForm

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
