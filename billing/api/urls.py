from django.urls import path

from . import views
from .webhook import stripe_webhook

urlpatterns = [
    path("invoices/runs/", views.InvoiceRunCreateView.as_view(), name="invoice-run-create"),
    path("invoices/runs/<int:pk>/", views.InvoiceRunDetailView.as_view(), name="invoice-run-detail"),
    path("invoices/runs/<int:pk>/resume/", views.InvoiceRunResumeView.as_view(), name="invoice-run-resume"),
    path("invoices/", views.InvoiceListView.as_view(), name="invoice-list"),
    path("invoices/<int:pk>/", views.InvoiceDetailView.as_view(), name="invoice-detail"),
    path("invoices/<int:pk>/issue/", views.InvoiceIssueView.as_view(), name="invoice-issue"),
    path("invoices/<int:pk>/void/", views.InvoiceVoidView.as_view(), name="invoice-void"),
    path("invoices/<int:pk>/credit-note/", views.InvoiceCreditNoteView.as_view(), name="invoice-credit-note"),
    path("invoices/<int:pk>/export/", views.InvoiceExportView.as_view(), name="invoice-export"),
    path("ledger/", views.LedgerView.as_view(), name="ledger"),
    path("stripe/webhook/", stripe_webhook, name="stripe-webhook"),
]
