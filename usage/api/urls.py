from django.urls import path

from . import views

urlpatterns = [
    path("usage/sessions/", views.SessionList.as_view(), name="api-usage-sessions"),
    path("usage/sessions/<int:pk>/", views.SessionDetail.as_view(), name="api-usage-session"),
    path("usage/sessions/<int:pk>/validate/", views.SessionValidate.as_view(), name="api-usage-validate"),
    path("instruments/<int:pk>/usage/", views.UsageStatus.as_view(), name="api-usage-status"),
    path("instruments/<int:pk>/usage/start/", views.CheckIn.as_view(action="start"), name="api-usage-start"),
    path("instruments/<int:pk>/usage/stop/", views.CheckIn.as_view(action="stop"), name="api-usage-stop"),
    path("instruments/<int:pk>/usage/settings/", views.UsageSettingsView.as_view(), name="api-usage-settings"),
    path("instruments/<int:pk>/usage/agent-key/", views.AgentKeyRotate.as_view(), name="api-usage-agent-key"),
    path("instruments/<int:pk>/usage/agent-events/", views.AgentEvents.as_view(), name="api-usage-agent-events"),
]
