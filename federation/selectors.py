"""Reads for federated sign-in: which identity providers one may choose, who a sign-in belongs to, and the
identities linked to a person."""

from __future__ import annotations

from dataclasses import dataclass

from allauth.socialaccount.models import SocialAccount, SocialApp, SocialLogin

from facilities.models import Institution
from facilities.selectors import institution_for_domain

SAML = "saml"
OIDC = "openid_connect"


@dataclass
class Choice:
    name: str  # in the reader's language when the metadata has it
    other_name: str  # in the other language, or ""
    kind: str  # "saml" or "openid_connect"
    app_id: int
    domains: list[str]


def _names(app: SocialApp) -> tuple[str, str]:
    names = app.settings.get("display_names") or {}
    return (names.get("en") or app.name or app.client_id), (names.get("zh-hans") or "")


def choosable_app(app_id: int) -> SocialApp | None:
    app = SocialApp.objects.filter(pk=app_id, provider__in=[SAML, OIDC]).first()
    return None if app is None or app.settings.get("hidden") else app


def identity_providers(*, q: str = "", language: str = "en") -> list[Choice]:
    """Every identity provider one may sign in through, in the reader's language, filtered by `q` (a part
    of a name in either language, or of a domain the provider speaks for)."""
    needle = q.strip().lower()
    out = []
    for app in SocialApp.objects.filter(provider__in=[SAML, OIDC]).order_by("name", "id"):
        if app.settings.get("hidden"):
            continue
        en, zh = _names(app)
        domains = list(app.settings.get("scopes") or []) + list(app.settings.get("email_domains") or [])
        haystack = " ".join([en, zh, *domains, app.settings.get("institution", "")]).lower()
        if needle and needle not in haystack:
            continue
        shown, other = (zh, en) if language.startswith("zh") and zh else (en, zh)
        out.append(Choice(name=shown, other_name=other, kind=app.provider, app_id=app.pk, domains=domains))
    return sorted(out, key=lambda c: c.name.lower())


def saml_app_for_issuer(issuer: str) -> SocialApp | None:
    if not issuer:
        return None
    return SocialApp.objects.filter(provider=SAML, settings__idp__entity_id=issuer).order_by("id").first()


def institution_for_login(sociallogin: SocialLogin) -> tuple[Institution | None, str]:
    """The institution a federated identity belongs to, and the affiliation released with it.
    SAML: the scope of eduPersonScopedAffiliation, else schacHomeOrganization (both only when the identity
    provider's metadata lists that scope). OpenID Connect: the institution code configured on the provider,
    else the domain of a verified e-mail address."""
    extra = sociallogin.account.extra_data or {}
    if "federation" in extra:
        released = extra["federation"]
        for domain in (released.get("scope"), released.get("home_domain")):
            if domain:
                institution = institution_for_domain(domain)
                if institution is not None:
                    return institution, released.get("affiliation") or ""
        return None, ""
    app = sociallogin.provider.app if sociallogin.provider else None
    code = (app.settings.get("institution") if app else "") or ""
    if code:
        return Institution.objects.filter(code__iexact=code).first(), ""
    claims = extra.get("userinfo") or extra.get("id_token") or {}
    email = str(claims.get("email") or "")
    verified = claims.get("email_verified") in (True, "true", "True", "1")
    if email and "@" in email and verified:
        return institution_for_domain(email.rpartition("@")[2].lower()), ""
    return None, ""


@dataclass
class Linked:
    id: int
    kind: str
    provider: str
    affiliation: str
    linked: object
    last_login: object


def linked_identities(user) -> list[Linked]:
    """The federated identities linked to `user` (only theirs)."""
    accounts = list(SocialAccount.objects.filter(user=user).order_by("date_joined", "id"))
    apps = {
        (a.provider, a.provider_id or a.provider, a.settings.get("idp", {}).get("entity_id", "")): a
        for a in SocialApp.objects.filter(provider__in=[SAML, OIDC])
    }
    by_issuer = {key[2]: app for key, app in apps.items() if key[0] == SAML}
    by_id = {key[1]: app for key, app in apps.items() if key[0] == OIDC}
    out = []
    for account in accounts:
        released = (account.extra_data or {}).get("federation") or {}
        if account.provider == SAML:
            app = by_issuer.get(released.get("issuer", ""))
            kind = "SAML"
        else:
            app = by_id.get(account.provider)
            kind = "OpenID Connect"
        name = _names(app)[0] if app else (released.get("issuer") or account.provider)
        affiliation = "@".join(x for x in (released.get("affiliation"), released.get("scope")) if x)
        out.append(Linked(account.pk, kind, name, affiliation, account.date_joined, account.last_login))
    return out


def identity_records(user) -> list[dict]:
    """The person's linked identities with what their identity providers released, for their own
    personal-data export (audit/privacy.py)."""
    return [
        {
            "provider": account.provider,
            "uid": account.uid,
            "linked": account.date_joined.isoformat() if account.date_joined else None,
            "last_login": account.last_login.isoformat() if account.last_login else None,
            "released": account.extra_data,
        }
        for account in SocialAccount.objects.filter(user=user).order_by("date_joined", "id")
    ]
