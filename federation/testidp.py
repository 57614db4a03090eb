"""A SAML identity provider and an OpenID Connect provider for trying and testing federated sign-in: they
build signed SAML responses and ID tokens with a test key. The tests use them in-process; with
FEDERATION_TEST_IDP=true the same code answers under /test-idp/ (federation/testidp_views.py). Never on in
production (`check --deploy` refuses it)."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from .saml import DISPLAY_NAME, HOME_ORGANIZATION, MAIL, PERSISTENT, SCOPED_AFFILIATION, TARGETED_ID


@dataclass(frozen=True)
class KeyPair:
    key_pem: str
    cert_pem: str

    @property
    def cert_b64(self) -> str:
        """The certificate's body as metadata carries it."""
        return "".join(line for line in self.cert_pem.splitlines() if "-----" not in line)


def new_key_pair(common_name: str = "Sanjiao test identity provider") -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return KeyPair(
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
    )


def stored_key_pair(directory: Path) -> KeyPair:
    """The test provider's key, made once and kept in the var directory (never committed)."""
    directory.mkdir(parents=True, exist_ok=True)
    key_file, cert_file = directory / "key.pem", directory / "cert.pem"
    if not key_file.exists() or not cert_file.exists():
        pair = new_key_pair()
        key_file.write_text(pair.key_pem)
        key_file.chmod(0o600)
        cert_file.write_text(pair.cert_pem)
    return KeyPair(key_pem=key_file.read_text(), cert_pem=cert_file.read_text())


@dataclass(frozen=True)
class Person:
    """Someone the test providers sign in."""

    key: str
    name: str
    affiliation: str  # eduPersonScopedAffiliation, e.g. "student@ustc.edu.cn"
    email: str
    label: str = ""


PEOPLE = [
    Person(
        "xiaoming.wang", "王小明 Wang Xiaoming", "student@ustc.edu.cn", "xiaoming.wang@mail.ustc.edu.cn", "USTC student"
    ),
    Person("hui.liu", "刘慧 Liu Hui", "faculty@zju.edu.cn", "hui.liu@zju.edu.cn", "ZJU faculty"),
    Person("guest.visitor", "Guest Visitor", "member@example.edu", "guest@example.edu", "unknown institution"),
]
SCOPES = ["ustc.edu.cn", "zju.edu.cn", "example.edu"]


def person(key: str) -> Person | None:
    return next((p for p in PEOPLE if p.key == key), None)


def _instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Assertion:
    """What one SAML response says; every field can be made wrong for a test."""

    issuer: str
    acs_url: str
    audience: str
    in_response_to: str | None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    targeted_id: str = ""
    name_id: str = ""
    name_id_format: str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
    lifetime: dt.timedelta = dt.timedelta(minutes=5)
    issued: dt.datetime | None = None
    assertion_id: str = ""


def attributes_of(p: Person, *, issuer: str, sp_entity_id: str) -> Assertion:
    """A test person's release, as CARSI identity providers release it."""
    scope = p.affiliation.rpartition("@")[2]
    return Assertion(
        issuer=issuer,
        acs_url="",
        audience=sp_entity_id,
        in_response_to=None,
        attributes={
            SCOPED_AFFILIATION[0]: [p.affiliation, f"member@{scope}"],
            HOME_ORGANIZATION[0]: [scope],
            DISPLAY_NAME[0]: [p.name],
            MAIL[0]: [p.email],
        },
        targeted_id=f"tid-{p.key}",
        name_id=secrets.token_hex(8),
    )


def _attribute(name: str, values: list[str]) -> str:
    inner = "".join(f"<saml:AttributeValue>{escape(v)}</saml:AttributeValue>" for v in values)
    return (
        f"<saml:Attribute Name={quoteattr(name)} "
        f'NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">{inner}</saml:Attribute>'
    )


def assertion_xml(a: Assertion) -> str:
    issued = a.issued or dt.datetime.now(dt.UTC)
    until = issued + a.lifetime
    irt = f" InResponseTo={quoteattr(a.in_response_to)}" if a.in_response_to else ""
    attrs = "".join(_attribute(name, values) for name, values in a.attributes.items())
    if a.targeted_id:
        attrs += (
            f'<saml:Attribute Name="{TARGETED_ID[0]}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">'
            f'<saml:AttributeValue><saml:NameID Format="{PERSISTENT}" NameQualifier={quoteattr(a.issuer)} '
            f"SPNameQualifier={quoteattr(a.audience)}>{escape(a.targeted_id)}</saml:NameID></saml:AttributeValue>"
            "</saml:Attribute>"
        )
    return (
        '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        f'ID="{a.assertion_id or "_a" + secrets.token_hex(16)}" Version="2.0" IssueInstant="{_instant(issued)}">'
        f"<saml:Issuer>{escape(a.issuer)}</saml:Issuer>"
        f"<saml:Subject><saml:NameID Format={quoteattr(a.name_id_format)}>{escape(a.name_id)}</saml:NameID>"
        '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<saml:SubjectConfirmationData NotOnOrAfter="{_instant(until)}" Recipient={quoteattr(a.acs_url)}{irt}/>'
        "</saml:SubjectConfirmation></saml:Subject>"
        f'<saml:Conditions NotBefore="{_instant(issued - dt.timedelta(seconds=30))}" NotOnOrAfter="{_instant(until)}">'
        f"<saml:AudienceRestriction><saml:Audience>{escape(a.audience)}</saml:Audience></saml:AudienceRestriction>"
        "</saml:Conditions>"
        f'<saml:AuthnStatement AuthnInstant="{_instant(issued)}" SessionIndex="_s{secrets.token_hex(8)}">'
        "<saml:AuthnContext><saml:AuthnContextClassRef>"
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
        "</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"
        f"<saml:AttributeStatement>{attrs}</saml:AttributeStatement>"
        "</saml:Assertion>"
    )


def saml_response(a: Assertion, *, sign_with: KeyPair | None) -> str:
    """A base64 SAML response carrying the assertion, signed with `sign_with` (None: unsigned)."""
    assertion = assertion_xml(a)
    if sign_with is not None:
        signed = OneLogin_Saml2_Utils.add_sign(assertion, sign_with.key_pem, sign_with.cert_pem)
        assertion = signed.decode() if isinstance(signed, bytes) else signed
        assertion = assertion.replace('<?xml version="1.0"?>', "").strip()
    issued = a.issued or dt.datetime.now(dt.UTC)
    irt = f" InResponseTo={quoteattr(a.in_response_to)}" if a.in_response_to else ""
    xml = (
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        f'ID="_r{secrets.token_hex(16)}" Version="2.0" IssueInstant="{_instant(issued)}" '
        f"Destination={quoteattr(a.acs_url)}{irt}>"
        f"<saml:Issuer>{escape(a.issuer)}</saml:Issuer>"
        '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
        f"{assertion}</samlp:Response>"
    )
    return base64.b64encode(xml.encode()).decode()


def federation_metadata(*, entity_id: str, sso_url: str, keys: KeyPair, scopes: list[str] = SCOPES) -> str:
    """A federation's metadata listing one identity provider, as CARSI's aggregate lists each of its members."""
    scope_xml = "".join(f'<shibmd:Scope regexp="false">{escape(s)}</shibmd:Scope>' for s in scopes)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:shibmd="urn:mace:shibboleth:metadata:1.0" '
        'xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" Name="sanjiao-test-federation">'
        f"<md:EntityDescriptor entityID={quoteattr(entity_id)}>"
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f"<md:Extensions>{scope_xml}<mdui:UIInfo>"
        '<mdui:DisplayName xml:lang="en">Test University (Sanjiao test identity provider)</mdui:DisplayName>'
        '<mdui:DisplayName xml:lang="zh">测试大学（三角测试身份提供者）</mdui:DisplayName>'
        "</mdui:UIInfo></md:Extensions>"
        '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>'
        f"<ds:X509Certificate>{keys.cert_b64}</ds:X509Certificate>"
        "</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
        f"Location={quoteattr(sso_url)}/>"
        "</md:IDPSSODescriptor></md:EntityDescriptor></md:EntitiesDescriptor>"
    )


# --- OpenID Connect -----------------------------------------------------------------------------------------

KID = "sanjiao-test"


def discovery(issuer: str) -> dict:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize/",
        "token_endpoint": f"{issuer}/token/",
        "userinfo_endpoint": f"{issuer}/userinfo/",
        "jwks_uri": f"{issuer}/jwks/",
        "response_types_supported": ["code"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
    }


def jwks(keys: KeyPair) -> dict:
    private = serialization.load_pem_private_key(keys.key_pem.encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    jwk.update({"kid": KID, "use": "sig", "alg": "RS256"})
    return {"keys": [jwk]}


def claims_of(p: Person, *, verified: bool = True) -> dict:
    return {"sub": f"sub-{p.key}", "email": p.email, "email_verified": verified, "name": p.name}


def id_token(
    claims: dict, *, issuer: str, audience: str, keys: KeyPair, nonce: str = "", lifetime: int = 300, kid: str = KID
) -> str:
    now = int(time.time())
    payload = {**claims, "iss": issuer, "aud": audience, "iat": now, "exp": now + lifetime}
    if nonce:
        payload["nonce"] = nonce
    return jwt.encode(payload, keys.key_pem, algorithm="RS256", headers={"kid": kid})
