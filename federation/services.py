"""Writes for federated sign-in: the identity providers read from the federation's metadata, and the
assertions already used (replay)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import requests
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from .models import SeenAssertion

logger = logging.getLogger(__name__)

NS = {
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "shibmd": "urn:mace:shibboleth:metadata:1.0",
    "mdui": "urn:oasis:names:tc:SAML:metadata:ui",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FEDERATION = "federation"  # settings["source"] of the apps the refresh owns; others are left alone
MAX_METADATA_BYTES = 64 * 1024 * 1024


# --- replay -------------------------------------------------------------------------------------------------


def record_assertion(*, assertion_id: str, issuer: str, not_on_or_after: dt.datetime | None) -> bool:
    """Remember a used assertion; False when its ID was used before (a replay). The unique ID decides
    between two requests racing with the same assertion."""
    if not assertion_id:
        return False
    until = not_on_or_after or timezone.now() + dt.timedelta(hours=1)
    try:
        with transaction.atomic():
            SeenAssertion.objects.create(assertion_id=assertion_id[:256], issuer=issuer[:512], not_on_or_after=until)
    except IntegrityError:
        return False
    return True


def forget_expired_assertions(*, now: dt.datetime | None = None) -> int:
    """An expired assertion is refused for being expired; its ID need not be kept."""
    deleted, _ = SeenAssertion.objects.filter(not_on_or_after__lt=now or timezone.now()).delete()
    return deleted


# --- metadata -----------------------------------------------------------------------------------------------


@dataclass
class IdentityProvider:
    entity_id: str
    sso_url: str
    certs: list[str]
    scopes: list[str]
    names: dict[str, str]

    @property
    def client_id(self) -> str:
        """A stable, readable key for the provider's URLs: its host and a short digest of its entity ID."""
        host = urlparse(self.entity_id).netloc or self.entity_id
        digest = hashlib.sha256(self.entity_id.encode()).hexdigest()[:8]
        return f"{slugify(host)[:60]}-{digest}"

    def app_settings(self) -> dict:
        return {
            "source": FEDERATION,
            "idp": {
                "entity_id": self.entity_id,
                "sso_url": self.sso_url,
                "x509cert": self.certs[0],
                "x509cert_multi": self.certs,
            },
            "scopes": self.scopes,
            "display_names": self.names,
        }


def _text(node) -> str:
    return (node.text or "").strip() if node is not None else ""


def _names(entity, idp) -> dict[str, str]:
    names: dict[str, str] = {}
    candidates = idp.findall("md:Extensions/mdui:UIInfo/mdui:DisplayName", NS) + entity.findall(
        "md:Organization/md:OrganizationDisplayName", NS
    )
    for node in candidates:
        lang = (node.get(XML_LANG) or "en").lower()
        key = "zh-hans" if lang.startswith("zh") else "en" if lang.startswith("en") else ""
        if key and key not in names and _text(node):
            names[key] = _text(node)[:200]
    return names


def parse_metadata(xml: bytes | str, *, cert: str = "") -> list[IdentityProvider]:
    """The identity providers an EntitiesDescriptor (or one EntityDescriptor) lists: each with an
    HTTP-Redirect single sign-on service and a signing certificate. With `cert`, the document's signature
    must verify against it. Raises ValidationError on a document it cannot trust or read."""
    try:
        root = OneLogin_Saml2_XML.to_etree(xml)
    except Exception as exc:  # lxml raises several kinds for bad XML; every one means "unreadable"
        raise ValidationError(_("The federation metadata is not readable XML: %(error)s") % {"error": exc}) from exc
    if cert and not OneLogin_Saml2_Utils.validate_metadata_sign(xml, cert=cert, validatecert=False):
        raise ValidationError(_("The federation metadata's signature does not verify with the configured certificate."))
    valid_until = root.get("validUntil")
    if valid_until and OneLogin_Saml2_Utils.parse_SAML_to_time(valid_until) < timezone.now().timestamp():
        raise ValidationError(_("The federation metadata expired on %(date)s.") % {"date": valid_until})
    entities = [root] if root.tag == f"{{{NS['md']}}}EntityDescriptor" else root.iter(f"{{{NS['md']}}}EntityDescriptor")
    out = []
    for entity in entities:
        idp = entity.find("md:IDPSSODescriptor", NS)
        entity_id = (entity.get("entityID") or "").strip()
        if idp is None or not entity_id:
            continue
        sso = [
            s.get("Location", "").strip()
            for s in idp.findall("md:SingleSignOnService", NS)
            if s.get("Binding") == OneLogin_Saml2_Constants.BINDING_HTTP_REDIRECT
        ]
        certs = [
            "".join(_text(c).split())
            for key in idp.findall("md:KeyDescriptor", NS)
            if key.get("use") in (None, "signing")
            for c in key.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
            if _text(c)
        ]
        if not sso or not sso[0] or not certs:
            logger.warning("federation metadata: %s has no HTTP-Redirect sign-on service or no certificate", entity_id)
            continue
        scopes = [
            _text(s).lower()
            for s in idp.findall("md:Extensions/shibmd:Scope", NS)
            if s.get("regexp", "false").lower() != "true" and _text(s)
        ]
        names = _names(entity, idp) or {"en": entity_id}
        out.append(IdentityProvider(entity_id=entity_id, sso_url=sso[0], certs=certs, scopes=scopes, names=names))
    return out


def read_metadata(source: str) -> bytes:
    """The document at FEDERATION_METADATA: a URL (fetched with a timeout) or a file."""
    if source.startswith(("http://", "https://")):
        response = requests.get(source, timeout=30, stream=True)
        response.raise_for_status()
        body = response.raw.read(MAX_METADATA_BYTES + 1, decode_content=True)
    else:
        with Path(source).open("rb") as f:
            body = f.read(MAX_METADATA_BYTES + 1)
    if len(body) > MAX_METADATA_BYTES:
        raise ValidationError(_("The federation metadata is larger than %(n)s bytes.") % {"n": MAX_METADATA_BYTES})
    return body


@transaction.atomic
def sync_identity_providers(*, providers: list[IdentityProvider]) -> dict[str, int]:
    """Make the choosable SAML identity providers those of the metadata: add new ones, update changed
    ones, remove those no longer listed (only those an earlier refresh added). Running it again with the
    same metadata changes nothing. People who signed in through a removed one keep their accounts."""
    counts = {"added": 0, "updated": 0, "removed": 0, "unchanged": 0}
    existing = {
        app.client_id: app
        for app in SocialApp.objects.select_for_update().filter(provider="saml")
        if app.settings.get("source") == FEDERATION
    }
    seen = set()
    for idp in providers:
        key = idp.client_id
        if key in seen:
            continue
        seen.add(key)
        name = idp.names.get("en") or idp.entity_id
        wanted = idp.app_settings()
        app = existing.get(key)
        if app is None:
            if SocialApp.objects.filter(provider="saml", client_id=key).exists():
                continue  # configured by hand under that key: the hand wins
            app = SocialApp.objects.create(
                provider="saml", provider_id="", client_id=key, name=name[:40], settings=wanted
            )
            on_site(app)
            counts["added"] += 1
        elif app.settings != wanted or app.name != name[:40]:
            app.settings = wanted
            app.name = name[:40]
            app.save(update_fields=["settings", "name"])
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    gone = [app.pk for key, app in existing.items() if key not in seen]
    if gone:
        counts["removed"] = SocialApp.objects.filter(pk__in=gone).delete()[1].get("socialaccount.SocialApp", 0)
    return counts


def on_site(app: SocialApp) -> None:
    from allauth import app_settings as allauth_settings

    if allauth_settings.SITES_ENABLED:
        from django.contrib.sites.models import Site

        app.sites.add(Site.objects.get_current())


def refresh_federation_metadata(*, source: str | None = None) -> dict[str, int]:
    """Read the federation's metadata and sync the identity providers. Nothing configured: nothing done.
    A document that cannot be read or trusted changes nothing (the providers of the last good one stay)."""
    source = settings.FEDERATION_METADATA if source is None else source
    forget_expired_assertions()
    if not source:
        return {}
    cert = ""
    if settings.FEDERATION_METADATA_CERT:
        cert = Path(settings.FEDERATION_METADATA_CERT).read_text()
    providers = parse_metadata(read_metadata(source), cert=cert)
    return sync_identity_providers(providers=providers)
