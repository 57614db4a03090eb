"""SAML 2.0 as one service provider of a federation, on django-allauth's SAML provider (python3-saml).

allauth gives each identity provider its own entity ID, assertion consumer service and metadata. A
federation such as CARSI registers a service provider once: one entity ID (SAML_SP_ENTITY_ID), one
assertion consumer service (/federation/saml/acs/) and one metadata document (/federation/saml/metadata/).
So the provider class below builds the AuthnRequest for that one service, and federation/views.py
receives every response there, finds the identity provider by the response's issuer and lets allauth
complete the sign-in. What the identity provider releases is read by `released` (docs/identity.md)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from allauth.socialaccount import app_settings as socialaccount_settings
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.saml.provider import SAMLProvider
from allauth.socialaccount.providers.saml.utils import build_saml_config
from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants

# Attribute names as CARSI and eduGAIN release them (urn:oid form), with their friendly names too.
PAIRWISE_ID = ("urn:oasis:names:tc:SAML:attribute:pairwise-id", "pairwise-id")
SUBJECT_ID = ("urn:oasis:names:tc:SAML:attribute:subject-id", "subject-id")
TARGETED_ID = ("urn:oid:1.3.6.1.4.1.5923.1.1.1.10", "eduPersonTargetedID")
SCOPED_AFFILIATION = ("urn:oid:1.3.6.1.4.1.5923.1.1.1.9", "eduPersonScopedAffiliation")
HOME_ORGANIZATION = ("urn:oid:1.3.6.1.4.1.25178.1.2.9", "schacHomeOrganization")
DISPLAY_NAME = ("urn:oid:2.16.840.1.113730.3.1.241", "displayName")
COMMON_NAME = ("urn:oid:2.5.4.3", "cn")
MAIL = ("urn:oid:0.9.2342.19200300.100.1.3", "mail")
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
# Our own addresses may be single-label hosts (localhost in development, testserver in tests).
ALLOW_SINGLE_LABEL = True
# When a person has several affiliations, the one kept on their join request: the most telling first.
AFFILIATION_ORDER = ["faculty", "staff", "student", "employee", "member", "affiliate", "alum", "library-walk-in"]


@dataclass
class Release:
    """What one identity provider said about a person, checked against what its metadata allows."""

    issuer: str
    uid: str = ""  # "<issuer>!<opaque id>": the stable id, unique across identity providers
    affiliation: str = ""  # e.g. "student"
    scope: str = ""  # e.g. "ustc.edu.cn", one of the scopes the metadata lists for the issuer
    home_domain: str = ""  # schacHomeOrganization, under the same rule
    name: str = ""
    email: str = ""
    affiliations: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "affiliation": self.affiliation,
            "scope": self.scope,
            "home_domain": self.home_domain,
            "affiliations": self.affiliations,
        }


def _values(attributes: dict, names: tuple[str, ...]) -> list:
    for name in names:
        values = attributes.get(name)
        if values:
            return list(values)
    return []


def _first_text(attributes: dict, names: tuple[str, ...]) -> str:
    for value in _values(attributes, names):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _in_scopes(domain: str, scopes: list[str]) -> bool:
    """An identity provider may speak only for the scopes its metadata lists (shibmd:Scope); one
    configured without any is trusted for what it says."""
    return bool(domain) and (not scopes or domain in scopes)


def _stable_uid(issuer: str, value: str) -> str:
    uid = f"{issuer}!{value}"
    if len(uid) > socialaccount_settings.UID_MAX_LENGTH:
        uid = "sha256:" + hashlib.sha256(uid.encode()).hexdigest()
    return uid


def released(auth: OneLogin_Saml2_Auth, app: SocialApp) -> Release:
    """Read a validated response: the opaque stable id (pairwise-id, subject-id, eduPersonTargetedID or
    a persistent NameID, in that order; never a transient NameID), the scoped affiliation and home
    organisation when their scope is the identity provider's own, the name and the mail when released."""
    attributes = auth.get_attributes()
    issuer = app.settings.get("idp", {}).get("entity_id", "")
    scopes = [s.lower() for s in app.settings.get("scopes", [])]
    out = Release(issuer=issuer)

    opaque = _first_text(attributes, PAIRWISE_ID) or _first_text(attributes, SUBJECT_ID)
    if not opaque:
        for value in _values(attributes, TARGETED_ID):
            if isinstance(value, dict) and (value.get("NameID") or {}).get("value"):
                opaque = value["NameID"]["value"].strip()
            elif isinstance(value, str) and value.strip():
                opaque = value.strip()
            if opaque:
                break
    if not opaque and auth.get_nameid_format() == PERSISTENT and auth.get_nameid():
        opaque = auth.get_nameid().strip()
    if opaque:
        out.uid = _stable_uid(issuer, opaque)

    by_scope: dict[str, list[str]] = {}
    for value in _values(attributes, SCOPED_AFFILIATION):
        if not isinstance(value, str) or "@" not in value:
            continue
        affiliation, _, scope = value.strip().lower().rpartition("@")
        if affiliation and _in_scopes(scope, scopes):
            by_scope.setdefault(scope, []).append(affiliation)
    if by_scope:
        out.scope = next(iter(by_scope))
        mine = by_scope[out.scope]
        out.affiliations = sorted(set(mine))
        ranked = [a for a in AFFILIATION_ORDER if a in mine]
        out.affiliation = (ranked or out.affiliations)[0][:64]
    home = _first_text(attributes, HOME_ORGANIZATION).lower()
    if _in_scopes(home, scopes):
        out.home_domain = home
    out.name = (_first_text(attributes, DISPLAY_NAME) or _first_text(attributes, COMMON_NAME))[:150]
    out.email = _first_text(attributes, MAIL)[:254]
    return out


def sp_config(request: HttpRequest) -> dict[str, Any]:
    """The one service provider the federation knows."""
    sp: dict[str, Any] = {
        "entityId": settings.SAML_SP_ENTITY_ID,
        "assertionConsumerService": {
            "url": request.build_absolute_uri(reverse("federation:saml_acs")),
            "binding": OneLogin_Saml2_Constants.BINDING_HTTP_POST,
        },
        "NameIDFormat": OneLogin_Saml2_Constants.NAMEID_UNSPECIFIED,
    }
    if settings.SAML_SP_CERT_FILE:
        with open(settings.SAML_SP_CERT_FILE) as cert, open(settings.SAML_SP_KEY_FILE) as key:
            sp["x509cert"] = cert.read()
            sp["privateKey"] = key.read()
    return sp


def saml_config(request: HttpRequest, app: SocialApp) -> dict[str, Any]:
    """allauth's configuration of the identity provider, made strict (signed assertions only) and joined
    to the one service provider."""
    config = build_saml_config(request, app.settings, app.client_id)
    idp = app.settings.get("idp", {})
    if idp.get("x509cert_multi"):
        config["idp"]["x509certMulti"] = {"signing": list(idp["x509cert_multi"])}
    config["strict"] = True
    config["security"]["wantAssertionsSigned"] = True
    config["security"]["rejectDeprecatedAlgorithm"] = True
    config["security"]["allowSingleLabelDomains"] = ALLOW_SINGLE_LABEL
    config["sp"] = sp_config(request)
    return config


def prepare_request(request: HttpRequest) -> dict[str, Any]:
    """The request as python3-saml reads it; the host through Django, so ALLOWED_HOSTS applies and a
    request without a Host header is a 400, not a KeyError."""
    return {
        "https": "on" if request.is_secure() else "off",
        "http_host": request.get_host(),
        "script_name": request.META.get("SCRIPT_NAME", ""),
        "path_info": request.META.get("PATH_INFO", request.path_info),
        "get_data": request.GET.copy(),
        "post_data": request.POST.copy(),
    }


def build_auth(request: HttpRequest, app: SocialApp) -> OneLogin_Saml2_Auth:
    return OneLogin_Saml2_Auth(prepare_request(request), saml_config(request, app))


class FederatedSAMLProvider(SAMLProvider):
    """allauth's SAML provider, sending people to the federation's one assertion consumer service and
    reading what the identity provider released through `released`."""

    # allauth finds the provider's URLs in this package.
    package = "allauth.socialaccount.providers.saml"

    def redirect(self, request: HttpRequest, process, next_url=None, data=None, **kwargs):
        auth = build_auth(request, self.app)
        url = auth.login(return_to="")
        self.stash_redirect_state(request, process, next_url, data, state_id=auth.get_last_request_id(), **kwargs)
        return HttpResponseRedirect(url)

    def extract_uid(self, data):
        return released(data, self.app).uid

    def extract_extra_data(self, data):
        return {"attributes": data.get_attributes(), "federation": released(data, self.app).as_dict()}

    def extract_common_fields(self, data):
        release = released(data, self.app)
        fields: dict[str, Any] = {}
        if release.name:
            fields["name"] = release.name
        if release.email:
            fields["email"] = release.email
        return fields

    def extract_email_addresses(self, data):
        return []
