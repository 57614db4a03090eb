from django.urls import path

from . import national, views

urlpatterns = [
    path("reports/sharing/", views.SharingReport.as_view(), name="api-report-sharing"),
    path("reports/fairness/", views.FairnessReport.as_view(), name="api-report-fairness"),
    path("reports/institutions/<str:code>/", views.InstitutionRollUp.as_view(), name="api-report-institution"),
    path("reports/calls/<int:pk>/", views.CallFigures.as_view(), name="api-report-call"),
    path("reports/provinces/<str:province>/", views.ProvinceRollUp.as_view(), name="api-report-province"),
    path("reports/national/instruments/", national.NationalCatalog.as_view(), name="api-national-catalog"),
    path(
        "reports/national/service-records/",
        national.NationalServiceRecords.as_view(),
        name="api-national-service-records",
    ),
]
