from django.urls import path

from . import views

urlpatterns = [
    path("audit/", views.AuditEntryList.as_view(), name="api-audit"),
    path("audit/export/", views.AuditEntryExport.as_view(), name="api-audit-export"),
    path("me/data/", views.MyDataView.as_view(), name="api-my-data"),
    path("me/data/zip/", views.MyDataZipView.as_view(), name="api-my-data-zip"),
    path("people/<int:pk>/anonymise/", views.PersonAnonymiseView.as_view(), name="api-person-anonymise"),
]
