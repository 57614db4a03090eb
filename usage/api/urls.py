from django.urls import path

from . import views, violation_views

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
    path("usage/violations/", violation_views.ViolationList.as_view(), name="api-usage-violations"),
    path("usage/suspensions/", violation_views.SuspensionList.as_view(), name="api-usage-suspensions"),
    path("usage/suspensions/<int:pk>/appeal/", violation_views.SuspensionAppeal.as_view(), name="api-usage-appeal"),
    path("usage/suspensions/<int:pk>/decide/", violation_views.SuspensionDecide.as_view(), name="api-usage-decide"),
    path(
        "facilities/<str:code>/violation-policy/",
        violation_views.ViolationPolicyView.as_view(),
        name="api-usage-violation-policy",
    ),
]
