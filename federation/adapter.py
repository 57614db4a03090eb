"""django-allauth's hooks for federated sign-in (docs/identity.md, "Federated sign-in").

A first sign-in makes the person at once (no sign-up form, no usable password) and asks for a researcher
membership of the institution the identity provider speaks for (facilities.joining.request_membership,
via FEDERATED), in one transaction. An identity whose institution the platform does not know, or whose
e-mail address belongs to an existing account, gets a page that says so and nothing is made."""

from __future__ import annotations

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base.constants import AuthError, AuthProcess
from django.db import transaction
from django.http import HttpRequest

from facilities.joining import request_membership
from facilities.models import JoinRequest

from .selectors import institution_for_login
from .views import refused


class FederatedSignInAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        if sociallogin.is_existing or sociallogin.state.get("process") == AuthProcess.CONNECT:
            return
        institution, _affiliation = institution_for_login(sociallogin)
        if institution is None:
            raise ImmediateHttpResponse(refused(request, "unknown_institution", status=403))
        email = (sociallogin.user.email if sociallogin.user else "") or ""
        if email and sociallogin.user.__class__._default_manager.filter(email__iexact=email).exists():
            raise ImmediateHttpResponse(refused(request, "email_taken", status=409))

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None) -> None:
        """A provider's answer that does not hold (an ID token with a wrong signature, audience or expiry, a
        refused code): the same clear page as a refused SAML answer. A cancelled sign-in goes its own way."""
        super().on_authentication_error(request, provider, error, exception, extra_context)
        if error != AuthError.CANCELLED:
            raise ImmediateHttpResponse(refused(request, "invalid_response"))

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return True

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return True

    def save_user(self, request: HttpRequest, sociallogin: SocialLogin, form=None):
        institution, affiliation = institution_for_login(sociallogin)
        if institution is None:  # pre_social_login refused it already; nothing is made without one
            raise ImmediateHttpResponse(refused(request, "unknown_institution", status=403))
        with transaction.atomic():
            user = super().save_user(request, sociallogin, form)
            request_membership(
                user=user, institution=institution, via=JoinRequest.Via.FEDERATED, affiliation=affiliation
            )
        return user

    def get_connect_redirect_url(self, request: HttpRequest, socialaccount) -> str:
        from django.urls import reverse

        return reverse("federation:identities")
