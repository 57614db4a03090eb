from django.urls import path

from . import views

urlpatterns = [
    path("calls/", views.CallList.as_view(), name="api-calls"),
    path("calls/<int:pk>/", views.CallDetail.as_view(), name="api-call"),
    path("calls/<int:pk>/offers/", views.CallOffers.as_view(), name="api-call-offers"),
    path("calls/<int:pk>/ranking/", views.CallRanking.as_view(), name="api-call-ranking"),
    path("proposals/", views.ProposalList.as_view(), name="api-proposals"),
    path("proposals/<int:pk>/", views.ProposalDetail.as_view(), name="api-proposal"),
    path("proposals/<int:pk>/submit/", views.ProposalSubmit.as_view(), name="api-proposal-submit"),
    path("proposals/<int:pk>/withdraw/", views.ProposalWithdraw.as_view(), name="api-proposal-withdraw"),
    path("proposals/<int:pk>/files/", views.ProposalFiles.as_view(), name="api-proposal-files"),
    path("proposals/<int:pk>/files/<int:file_id>/", views.ProposalFileDownload.as_view(), name="api-proposal-file"),
    path("proposals/<int:pk>/checks/", views.ProposalCheck.as_view(), name="api-proposal-checks"),
    path("proposals/<int:pk>/panel/", views.ProposalPanel.as_view(), name="api-proposal-panel"),
    path("proposals/<int:pk>/reviewers/", views.ProposalReviewers.as_view(), name="api-proposal-reviewers"),
    path("proposals/<int:pk>/award/", views.ProposalAward.as_view(), name="api-proposal-award"),
    path("proposals/<int:pk>/ledger/", views.ProposalLedger.as_view(), name="api-proposal-ledger"),
    path("proposals/<int:pk>/sessions/", views.ProposalSessions.as_view(), name="api-proposal-sessions"),
    path("proposals/<int:pk>/suggestions/", views.ProposalSuggestions.as_view(), name="api-proposal-suggestions"),
    path("reviews/", views.ReviewList.as_view(), name="api-reviews"),
    path("reviews/<int:pk>/grade/", views.ReviewGrade.as_view(), name="api-review-grade"),
    path("sessions/<int:pk>/confirm/", views.SessionConfirm.as_view(), name="api-session-confirm"),
    path("sessions/<int:pk>/cancel/", views.SessionCancel.as_view(), name="api-session-cancel"),
    path("sessions/<int:pk>/fault/", views.SessionFault.as_view(), name="api-session-fault"),
    path("sessions/<int:pk>/safety-form/", views.SessionSafetyForm.as_view(), name="api-session-safety-form"),
    path(
        "sessions/<int:pk>/safety-form/approve/",
        views.SessionSafetyApprove.as_view(),
        name="api-session-safety-approve",
    ),
    path("sessions/<int:pk>/report/", views.SessionReport.as_view(), name="api-session-report"),
]
