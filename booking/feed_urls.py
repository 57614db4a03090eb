"""Mounted at /calendar/ (config/urls.py)."""

from django.urls import path

from . import feed_views

app_name = "calendar"

urlpatterns = [
    path("token/rotate/", feed_views.RotateToken.as_view(), name="rotate-token"),
    path("notifications/preferences/", feed_views.Preferences.as_view(), name="preferences"),
    path("instruments/<int:pk>.ics", feed_views.instrument_feed, name="instrument-feed"),
    path("facilities/<str:code>.ics", feed_views.facility_feed, name="facility-feed"),
    path("<str:token>.ics", feed_views.personal_feed, name="personal-feed"),
]
