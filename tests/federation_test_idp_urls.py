"""The site's URLs with the test identity providers mounted, as FEDERATION_TEST_IDP=true mounts them."""

from django.urls import include, path

from config.urls import urlpatterns as site

urlpatterns = [path("test-idp/", include("federation.testidp_urls")), *site]
