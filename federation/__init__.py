"""Federated sign-in: SAML 2.0 through a federation such as CARSI, and OpenID Connect, on django-allauth
(docs/identity.md, "Federated sign-in"; decision 0027)."""
