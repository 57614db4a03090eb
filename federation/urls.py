"""Mounted at /federation/ (config/urls.py)."""

from django.urls import path

from . import views

app_name = "federation"

urlpatterns = [
    path("choose/", views.choose, name="choose"),
    path("start/<int:app_id>/", views.start, name="start"),
    path("sign-ins/", views.identities, name="identities"),
    path("saml/metadata/", views.saml_metadata, name="saml_metadata"),
    path("saml/acs/", views.saml_acs, name="saml_acs"),
    path("saml/acs/finish/", views.saml_finish, name="saml_finish"),
]
