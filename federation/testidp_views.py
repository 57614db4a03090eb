"""/test-idp/: the test SAML identity provider and OpenID Connect provider, served only with
FEDERATION_TEST_IDP=true (config/urls.py). They sign in whichever test person one picks: for trying
federated sign-in on one's own machine, never for production."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from . import testidp

OIDC_CLIENT_ID = "sanjiao-test"
OIDC_CLIENT_SECRET = "sanjiao-test-secret"  # noqa: S105 - the test provider's, published in the docs


def keys() -> testidp.KeyPair:
    return testidp.stored_key_pair(settings.VAR_DIR / "test-idp")


def saml_entity_id(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("test_idp:saml_metadata"))


def saml_metadata(request: HttpRequest) -> HttpResponse:
    xml = testidp.federation_metadata(
        entity_id=saml_entity_id(request),
        sso_url=request.build_absolute_uri(reverse("test_idp:saml_sso")),
        keys=keys(),
    )
    return HttpResponse(xml, content_type="application/samlmetadata+xml")


@require_http_methods(["GET", "POST"])
def saml_sso(request: HttpRequest) -> HttpResponse:
    """HTTP-Redirect binding in; the person picks who to be; the signed response goes back by a form POST."""
    params = request.GET if request.method == "GET" else request.POST
    saml_request, relay_state = params.get("SAMLRequest", ""), params.get("RelayState", "")
    try:
        xml = OneLogin_Saml2_Utils.decode_base64_and_inflate(saml_request)
        root = OneLogin_Saml2_XML.to_etree(xml)
        request_id = root.get("ID") or ""
        issuer = OneLogin_Saml2_XML.query(root, "/samlp:AuthnRequest/saml:Issuer")[0].text or ""
    except Exception:  # anything unreadable is the same bad request
        return HttpResponseBadRequest("The test identity provider could not read the SAMLRequest.")
    acs_url = request.build_absolute_uri(reverse("federation:saml_acs"))
    if request.method == "GET" or not testidp.person(request.POST.get("person", "")):
        return render(
            request,
            "federation/test_idp_pick.html",
            {"people": testidp.PEOPLE, "fields": {"SAMLRequest": saml_request, "RelayState": relay_state}},
        )
    chosen = testidp.person(request.POST["person"])
    assert chosen is not None
    assertion = testidp.attributes_of(chosen, issuer=saml_entity_id(request), sp_entity_id=issuer)
    assertion.acs_url = acs_url
    assertion.in_response_to = request_id
    return render(
        request,
        "federation/test_idp_post.html",
        {
            "action": acs_url,
            "fields": {"SAMLResponse": testidp.saml_response(assertion, sign_with=keys()), "RelayState": relay_state},
        },
    )


def _oidc_issuer(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("test_idp:oidc_root")).rstrip("/")


def oidc_discovery(request: HttpRequest) -> JsonResponse:
    return JsonResponse(testidp.discovery(_oidc_issuer(request)))


def oidc_jwks(request: HttpRequest) -> JsonResponse:
    return JsonResponse(testidp.jwks(keys()))


@require_http_methods(["GET", "POST"])
def oidc_authorize(request: HttpRequest) -> HttpResponse:
    params = request.GET if request.method == "GET" else request.POST
    if params.get("client_id") != OIDC_CLIENT_ID or not params.get("redirect_uri", "").startswith(
        request.build_absolute_uri("/")
    ):
        return HttpResponseBadRequest("Unknown client or a redirect_uri off this site.")
    chosen = testidp.person(request.POST.get("person", "")) if request.method == "POST" else None
    if chosen is None:
        fields = {
            k: params.get(k, "") for k in ("client_id", "redirect_uri", "state", "nonce", "scope", "response_type")
        }
        return render(request, "federation/test_idp_pick.html", {"people": testidp.PEOPLE, "fields": fields})
    code = secrets.token_urlsafe(24)
    cache.set(
        f"test-idp:code:{code}",
        {"person": chosen.key, "nonce": params.get("nonce", ""), "redirect_uri": params["redirect_uri"]},
        300,
    )
    return HttpResponseRedirect(
        f"{params['redirect_uri']}?{urlencode({'code': code, 'state': params.get('state', '')})}"
    )


@csrf_exempt
@require_http_methods(["POST"])
def oidc_token(request: HttpRequest) -> JsonResponse:
    if request.POST.get("client_id") != OIDC_CLIENT_ID or request.POST.get("client_secret") != OIDC_CLIENT_SECRET:
        return JsonResponse({"error": "invalid_client"}, status=401)
    grant = cache.get(f"test-idp:code:{request.POST.get('code', '')}")
    cache.delete(f"test-idp:code:{request.POST.get('code', '')}")
    chosen = testidp.person(grant["person"]) if grant else None
    if chosen is None or grant["redirect_uri"] != request.POST.get("redirect_uri"):
        return JsonResponse({"error": "invalid_grant"}, status=400)
    access = secrets.token_urlsafe(24)
    cache.set(f"test-idp:access:{access}", chosen.key, 300)
    token = testidp.id_token(
        testidp.claims_of(chosen),
        issuer=_oidc_issuer(request),
        audience=OIDC_CLIENT_ID,
        keys=keys(),
        nonce=grant["nonce"],
    )
    return JsonResponse({"access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": token})


def oidc_userinfo(request: HttpRequest) -> JsonResponse:
    access = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    chosen = testidp.person(cache.get(f"test-idp:access:{access}") or "")
    if chosen is None:
        return JsonResponse({"error": "invalid_token"}, status=401)
    return JsonResponse(testidp.claims_of(chosen))
