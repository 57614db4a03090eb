"""The web pages, mounted at / (config/urls.py)."""

from django.urls import path

from .views import catalog, dashboard, finance, home, instrument, language, manager, proposals, search

app_name = "frontend"

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", home.LoginView.as_view(), name="login"),
    path("logout/", home.LogoutView.as_view(), name="logout"),
    path("language/", language.switch_language, name="language"),
    path("catalog/", catalog.catalog, name="catalog"),
    path("facilities/<str:code>/", catalog.facility_detail, name="facility"),
    path("instruments/<int:pk>/", instrument.instrument_page, name="instrument"),
    path("instruments/<int:pk>/book/", instrument.book, name="book"),
    path("instruments/<int:pk>/estimate/", instrument.estimate_view, name="estimate"),
    path("instruments/<int:pk>/waitlist/", instrument.join_waitlist, name="waitlist_join"),
    path("search/", search.joint_search, name="search"),
    path("search/book/", search.book_bundle, name="book_bundle"),
    path("me/", dashboard.dashboard, name="dashboard"),
    path("me/bookings/", dashboard.dashboard_bookings, name="dashboard_bookings"),
    path("bookings/<int:pk>/cancel/", dashboard.cancel, name="cancel"),
    path("waitlist/<int:pk>/<str:action>/", dashboard.waitlist_action, name="waitlist_action"),
    path("console/", manager.console, name="console"),
    path("console/queue/", manager.console_queue, name="console_queue"),
    path("console/bookings/<int:pk>/<str:action>/", manager.decide, name="decide"),
    path("console/facilities/<str:code>/", manager.console_facility, name="console_facility"),
    path("console/facilities/<str:code>/closures/", manager.closure_create, name="closure_create"),
    path("console/facilities/<str:code>/closures/<int:pk>/remove/", manager.closure_delete, name="closure_delete"),
    path(
        "console/facilities/<str:code>/qualifications/<str:action>/", manager.qualification_change, name="qualification"
    ),
    path("proposals/", proposals.proposals_home, name="proposals"),
    path("proposals/mine/", proposals.proposals_mine, name="proposals_mine"),
    path("proposals/new/", proposals.proposal_new, name="proposal_new"),
    path("proposals/<int:pk>/", proposals.proposal_detail, name="proposal"),
    path("proposals/<int:pk>/files/<int:file_id>/", proposals.proposal_file, name="proposal_file"),
    path("proposals/<int:pk>/<str:action>/", proposals.proposal_action, name="proposal_action"),
    path("calls/new/", proposals.call_new, name="call_new"),
    path("calls/<int:pk>/ranking/", proposals.call_ranking, name="call_ranking"),
    path("finance/", finance.finance, name="finance"),
    path("finance/runs/", finance.runs_fragment, name="finance_runs"),
    path("finance/runs/start/", finance.run_invoices, name="run_invoices"),
    path("finance/invoices/<int:pk>/", finance.invoice_detail, name="invoice"),
    path("finance/invoices/<int:pk>/<str:action>/", finance.invoice_action, name="invoice_action"),
    path("finance/claims/<int:pk>/<str:action>/", finance.claim_action, name="claim_action"),
]
