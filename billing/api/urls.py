from django.urls import path

from . import policies, receivables, views, vouchers
from .webhook import stripe_webhook

urlpatterns = [
    path("invoices/runs/", views.InvoiceRunCreateView.as_view(), name="invoice-run-create"),
    path("invoices/runs/<int:pk>/", views.InvoiceRunDetailView.as_view(), name="invoice-run-detail"),
    path("invoices/runs/<int:pk>/resume/", views.InvoiceRunResumeView.as_view(), name="invoice-run-resume"),
    path("invoices/", views.InvoiceListView.as_view(), name="invoice-list"),
    path("groups/<int:pk>/spending/", views.GroupSpendingView.as_view(), name="group-spending"),
    path("invoices/<int:pk>/", views.InvoiceDetailView.as_view(), name="invoice-detail"),
    path("invoices/<int:pk>/issue/", views.InvoiceIssueView.as_view(), name="invoice-issue"),
    path("invoices/<int:pk>/void/", views.InvoiceVoidView.as_view(), name="invoice-void"),
    path("invoices/<int:pk>/credit-note/", views.InvoiceCreditNoteView.as_view(), name="invoice-credit-note"),
    path("invoices/<int:pk>/export/", views.InvoiceExportView.as_view(), name="invoice-export"),
    path("ledger/", views.LedgerView.as_view(), name="ledger"),
    path(
        "instruments/<int:pk>/charge-policy/",
        policies.InstrumentChargePolicy.as_view(),
        name="api-instrument-charge-policy",
    ),
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
    # receivables (docs/receivables.md)
    path("invoices/<int:pk>/fapiao/", receivables.FapiaoView.as_view(), name="invoice-fapiao"),
    path("invoices/<int:pk>/fapiao/file/", receivables.FapiaoFileView.as_view(), name="invoice-fapiao-file"),
    path("invoices/<int:pk>/fapiao/issue/", receivables.FapiaoIssueView.as_view(), name="invoice-fapiao-issue"),
    path("invoices/<int:pk>/red-letter/", receivables.RedLetterView.as_view(), name="invoice-red-letter"),
    path("invoices/<int:pk>/balance/", receivables.BalanceView.as_view(), name="invoice-balance"),
    path("fapiao/batch/", receivables.FapiaoBatchView.as_view(), name="fapiao-batch"),
    path("bank-statements/", receivables.StatementListView.as_view(), name="bank-statements"),
    path("payments/", receivables.PaymentListView.as_view(), name="payments"),
    path("payments/<int:pk>/assign/", receivables.PaymentAssignView.as_view(), name="payment-assign"),
    path("receivables/", receivables.ReceivablesView.as_view(), name="receivables"),
    path("stripe/webhook/", stripe_webhook, name="stripe-webhook"),
]
