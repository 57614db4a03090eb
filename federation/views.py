"""Pages and endpoints of federated sign-in: choosing one's institution, the service provider's metadata and
assertion consumer service, the identities linked to one's account, and the pages that say why a sign-in
was refused (docs/identity.md, "Federated sign-in")."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging

import requests
from allauth.core.internal import httpkit
from allauth.socialaccount.helpers import complete_social_login
from allauth.socialaccount.providers.base.constants import AuthProcess
from allauth.socialaccount.sessions import LoginSession
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from onelogin.saml2.errors import OneLogin_Saml2_Error
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from . import saml
from .selectors import choosable_app, identity_providers, linked_identities, saml_app_for_issuer
from .services import record_assertion

logger = logging.getLogger(__name__)

REASONS = {
    "unknown_institution": (
        _("Your institution is not on Sanjiao yet"),
        _(
            "Your identity provider signed you in, but it did not say which institution you belong to, or Sanjiao "
            "does not know that institution yet. No account was made. Ask your institution to join Sanjiao, or "
            "sign up with your e-mail address."
        ),
    ),
    "email_taken": (
        _("An account with your e-mail address exists"),
        _(
            "Sanjiao already has an account with the e-mail address your institution released. Sign in to it "
            "with its username and password, then link your institution's sign-in under \u201cSign-ins\u201d."
        ),
    ),
    "invalid_response": (
        _("The sign-in could not be accepted"),
        _(
            "Your identity provider's answer was not accepted: it was not signed by that provider, was not meant "
            "for Sanjiao, or has expired. Nothing was changed. Start again from \u201cChoose your institution\u201d."
        ),
    ),
    "replayed": (
        _("This sign-in was already used"),
        _(
            "That answer of your identity provider has been used once already and is not accepted again. "
            "Start again from \u201cChoose your institution\u201d."
        ),
    ),
    "unknown_provider": (
        _("Unknown identity provider"),
        _(
            "The answer came from an identity provider Sanjiao does not know. "
            "Start again from \u201cChoose your institution\u201d."
        ),
    ),
    "no_stable_id": (
        _("Your identity provider released no lasting identifier"),
        _(
            "Sanjiao needs a lasting, opaque identifier of you (pairwise-id, eduPersonTargetedID or a persistent "
            "NameID) to recognise you next time. Ask your institution's identity team to release one to Sanjiao."
        ),
    ),
    "provider_unreachable": (
        _("Your identity provider cannot be reached"),
        _("Sanjiao could not reach your institution's sign-in service just now. Please try again in a few minutes."),
    ),
    "not_started_here": (
        _("This sign-in was not started here"),
        _(
            "Sanjiao accepts an identity provider's answer only to a sign-in started from Sanjiao, in this "
            "browser, within the last few minutes. Start again from \u201cChoose your institution\u201d."
        ),
    ),
}


def refused(request: HttpRequest, code: str, *, status: int = 400) -> HttpResponse:
    title, message = REASONS[code]
    return render(
        request,
        "federation/refused.html",
        {"title": title, "message": message, "code": code},
        status=status,
    )


@require_GET
def choose(request: HttpRequest) -> HttpResponse:
    """ "Choose your institution": every identity provider, searchable, each a button that starts its sign-in.
    Signed in, the same list links an identity to one's account (process=connect)."""
    q = request.GET.get("q", "")[:100]
    connect = request.user.is_authenticated and request.GET.get("process") == AuthProcess.CONNECT
    next_url = request.GET.get("next", "")
    return render(
        request,
        "federation/choose.html",
        {
            "providers": identity_providers(q=q, language=get_language() or "en"),
            "q": q,
            "process": AuthProcess.CONNECT if connect else AuthProcess.LOGIN,
            "next": _safe_next(next_url),
            "nav": "identities" if connect else "",
        },
    )


def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else ""


@require_POST
def start(request: HttpRequest, app_id: int) -> HttpResponse:
    """Start a sign-in (or, signed in, the linking of an identity) at the chosen identity provider. The form
    posts here, to this site, and the page it gets sends the browser on to the provider: a form whose
    answer redirected to another site would be stopped by the Content-Security-Policy (form-action 'self')."""
    app = choosable_app(app_id)
    if app is None:
        return refused(request, "unknown_provider", status=404)
    connect = request.user.is_authenticated and request.POST.get("process") == AuthProcess.CONNECT
    process = AuthProcess.CONNECT if connect else AuthProcess.LOGIN
    provider = app.get_provider(request)
    try:
        response = provider.redirect(request, process, next_url=_safe_next(request.POST.get("next", "")) or None)
    except requests.RequestException:
        logger.warning("identity provider %s unreachable", app.client_id or app.provider_id)
        return refused(request, "provider_unreachable", status=502)
    if response.status_code != 302:
        return response
    return render(request, "federation/continue.html", {"url": response["Location"], "name": app.name})


@login_required
@require_GET
def identities(request: HttpRequest) -> HttpResponse:
    return render(
        request, "federation/identities.html", {"linked": linked_identities(request.user), "nav": "identities"}
    )


@require_GET
def saml_metadata(request: HttpRequest) -> HttpResponse:
    """The service provider's metadata, to register with the federation (one entity ID, one ACS)."""
    config = {
        "strict": True,
        "sp": saml.sp_config(request),
        "security": {"wantAssertionsSigned": True, "allowSingleLabelDomains": saml.ALLOW_SINGLE_LABEL},
    }
    sp_settings = OneLogin_Saml2_Settings(settings=config, sp_validation_only=True)
    metadata = sp_settings.get_sp_metadata()
    return HttpResponse(metadata, content_type="application/samlmetadata+xml")


@csrf_exempt
def allauth_saml_endpoint(request: HttpRequest, organization_slug: str) -> HttpResponse:
    """allauth's own per-provider SAML endpoints (ACS, its finish, logout, metadata) are not served: every
    answer comes through the one ACS above, with its replay guard (config/urls.py)."""
    return refused(request, "unknown_provider", status=404)


@csrf_exempt
@require_POST
def saml_acs(request: HttpRequest) -> HttpResponse:
    """The identity provider's answer arrives by a cross-site POST, which carries no session cookie: keep it
    in a short-lived session of its own and continue on our own site (as allauth's ACS does)."""
    response = HttpResponseRedirect(reverse("federation:saml_finish"))
    acs_session = LoginSession(request, "saml_acs_session", "saml-acs-session")
    acs_session.store.update({"request": httpkit.serialize_request(request)})
    acs_session.save(response)
    return response


def _issuer(saml_response: str) -> str:
    try:
        root = OneLogin_Saml2_XML.to_etree(base64.b64decode(saml_response, validate=False))
    except (binascii.Error, ValueError, Exception):  # not base64, not XML: the same refusal
        return ""
    nodes = OneLogin_Saml2_XML.query(root, "/samlp:Response/saml:Issuer") or OneLogin_Saml2_XML.query(
        root, "/samlp:Response/saml:Assertion/saml:Issuer"
    )
    return (nodes[0].text or "").strip() if nodes else ""


def saml_finish(request: HttpRequest) -> HttpResponse:
    acs_session = LoginSession(request, "saml_acs_session", "saml-acs-session")
    data = acs_session.store.get("request")
    acs_session.delete()
    if not data:
        return refused(request, "not_started_here")
    acs_request = httpkit.deserialize_request(data, HttpRequest())
    app = saml_app_for_issuer(_issuer(acs_request.POST.get("SAMLResponse", "")))
    if app is None:
        return refused(request, "unknown_provider")
    provider = app.get_provider(request)
    auth = saml.build_auth(acs_request, app)
    try:
        # InResponseTo is checked below against the sign-in this browser started (the stashed state).
        auth.process_response(request_id=None)
        errors = auth.get_errors()
    except (OneLogin_Saml2_Error, binascii.Error, ValueError) as exc:
        errors = [str(exc)]
    if errors or not auth.is_authenticated():
        logger.warning("SAML response refused: %s: %s", ", ".join(errors), auth.get_last_error_reason())
        return refused(request, "invalid_response")
    until = auth.get_last_assertion_not_on_or_after()
    if not record_assertion(
        assertion_id=auth.get_last_assertion_id() or "",
        issuer=app.settings["idp"]["entity_id"],
        not_on_or_after=dt.datetime.fromtimestamp(until, tz=dt.UTC) if until else None,
    ):
        logger.warning("SAML assertion %s replayed", auth.get_last_assertion_id())
        return refused(request, "replayed")
    if not saml.released(auth, app).uid:
        return refused(request, "no_stable_id")
    state_id = auth.get_last_response_in_response_to()
    if not state_id:  # identity-provider-initiated sign-in: not accepted (no state ties it to this browser)
        return refused(request, "not_started_here")
    try:
        state = provider.unstash_redirect_state(request, state_id)
    except PermissionDenied:
        return refused(request, "not_started_here")
    login = provider.sociallogin_from_response(request, auth)
    login.state = state
    return complete_social_login(request, login)
