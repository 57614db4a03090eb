from django.urls import path

from . import views, vouchers
from .webhook import stripe_webhook

urlpatterns = [
    path("invoices/runs/", views.InvoiceRunCreateView.as_view(), name="invoice-run-create"),
    path("invoices/runs/<int:pk>/", views.InvoiceRunDetailView.as_view(), name="invoice-run-detail"),
    path("invoices/", views.InvoiceListView.as_view(), name="invoice-list"),
    path("invoices/<int:pk>/", views.InvoiceDetailView.as_view(), name="invoice-detail"),
    path("invoices/<int:pk>/issue/", views.InvoiceIssueView.as_view(), name="invoice-issue"),
    path("invoices/<int:pk>/void/", views.InvoiceVoidView.as_view(), name="invoice-void"),
    path("invoices/<int:pk>/credit-note/", views.InvoiceCreditNoteView.as_view(), name="invoice-credit-note"),
    path("invoices/<int:pk>/export/", views.InvoiceExportView.as_view(), name="invoice-export"),
    path("ledger/", views.LedgerView.as_view(), name="ledger"),
    path("journal/", vouchers.JournalView.as_view(), name="journal"),
    path("vouchers/redemptions/", vouchers.RedemptionListView.as_view(), name="voucher-redemption-list"),
    path("vouchers/redemptions/<int:pk>/", vouchers.RedemptionDetailView.as_view(), name="voucher-redemption-detail"),
    path("vouchers/redemptions/<int:pk>/submit/", vouchers.ClaimSubmitView.as_view(), name="voucher-claim-submit"),
    path("vouchers/redemptions/<int:pk>/approve/", vouchers.ClaimApproveView.as_view(), name="voucher-claim-approve"),
    path(
        "vouchers/redemptions/<int:pk>/reimburse/",
        vouchers.ClaimReimburseView.as_view(),
        name="voucher-claim-reimburse",
    ),
    path("vouchers/redemptions/<int:pk>/refuse/", vouchers.ClaimRefuseView.as_view(), name="voucher-claim-refuse"),
    path("vouchers/redemptions/<int:pk>/evidence/", vouchers.EvidencePackView.as_view(), name="voucher-claim-evidence"),
    path("vouchers/report/", vouchers.RedemptionReportView.as_view(), name="voucher-report"),
    path("stripe/webhook/", stripe_webhook, name="stripe-webhook"),
]
