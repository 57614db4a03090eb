from django.urls import path

from . import views

urlpatterns = [
    path("reports/sharing/", views.SharingReport.as_view(), name="api-report-sharing"),
    path("reports/fairness/", views.FairnessReport.as_view(), name="api-report-fairness"),
    path("reports/institutions/<str:code>/", views.InstitutionRollUp.as_view(), name="api-report-institution"),
    path("reports/calls/<int:pk>/", views.CallFigures.as_view(), name="api-report-call"),
    path("reports/provinces/<str:province>/", views.ProvinceRollUp.as_view(), name="api-report-province"),
]
