"""Mounted at /test-idp/ only with FEDERATION_TEST_IDP=true (config/urls.py)."""

from django.urls import path

from . import testidp_views as views

app_name = "test_idp"

urlpatterns = [
    path("saml/", views.saml_metadata, name="saml_metadata"),
    path("saml/sso/", views.saml_sso, name="saml_sso"),
    path("oidc/", views.oidc_discovery, name="oidc_root"),
    path("oidc/.well-known/openid-configuration", views.oidc_discovery, name="oidc_discovery"),
    path("oidc/authorize/", views.oidc_authorize, name="oidc_authorize"),
    path("oidc/token/", views.oidc_token, name="oidc_token"),
    path("oidc/jwks/", views.oidc_jwks, name="oidc_jwks"),
    path("oidc/userinfo/", views.oidc_userinfo, name="oidc_userinfo"),
]
