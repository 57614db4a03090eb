from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from federation import oidc as federation_oidc
from federation import views as federation_views

api_patterns: list[URLPattern | URLResolver] = [
    path("", include("facilities.api.urls")),
    path("", include("booking.api.urls")),
    path("", include("booking.api.more_urls")),
    path("", include("usage.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("proposals.api.urls")),
    path("", include("reports.api.urls")),
    path("", include("audit.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file (?script): no inline script for the CSP.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="frontend/api_docs.html"),
        name="api-docs",
    ),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_patterns)),
    path("calendar/", include("booking.feed_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # Federated sign-in (docs/identity.md): choosing one's institution, the SAML service provider's one
    # metadata and assertion consumer service. allauth's OpenID Connect callback, replaced at its own
    # address by one that always checks the ID token's signature (federation/oidc.py).
    path("federation/", include("federation.urls")),
    path("accounts/oidc/<str:provider_id>/login/callback/", federation_oidc.callback, name="federation_oidc_callback"),
    # allauth's per-provider SAML endpoints are closed: the federation knows one ACS and one metadata document.
    *[
        path(f"accounts/saml/<str:organization_slug>/{part}/", federation_views.allauth_saml_endpoint)
        for part in ("acs", "acs/finish", "sls", "metadata")
    ],
    # django-allauth: sign-up, e-mail verification, federated sign-in (docs/identity.md). Signing in stays
    # at /login/ (with its defences) and resetting a password at /password/reset/: one page for each.
    path("accounts/login/", RedirectView.as_view(url="/login/", query_string=True)),
    path("accounts/password/reset/", RedirectView.as_view(url="/password/reset/")),
    path("accounts/password/change/", RedirectView.as_view(url="/password/change/")),
    path("accounts/", include("allauth.urls")),
    path("", include("frontend.urls")),
]

if settings.FEDERATION_TEST_IDP:
    # Test identity providers for trying federated sign-in (manage.py configure_test_idp); never in production.
    urlpatterns.insert(0, path("test-idp/", include("federation.testidp_urls")))
