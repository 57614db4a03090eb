"""The web pages, mounted at / (config/urls.py)."""

from django.urls import path

from .views import (
    audit,
    catalog,
    dashboard,
    finance,
    home,
    instrument,
    language,
    manager,
    receivables,
    resource_calendar,
    search,
    usage,
)

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
    path("instruments/<int:pk>/qr/", usage.qr_page, name="qr"),
    path("instruments/<int:pk>/in-use/", usage.usage_badge, name="usage_badge"),
    path("use/<int:pk>/", usage.use_page, name="use"),
    path("use/<int:pk>/<str:action>/", usage.use_action, name="use_action"),
    path("search/", search.joint_search, name="search"),
    path("search/book/", search.book_bundle, name="book_bundle"),
    path("me/", dashboard.dashboard, name="dashboard"),
    path("me/bookings/", dashboard.dashboard_bookings, name="dashboard_bookings"),
    path("bookings/<int:pk>/cancel/", dashboard.cancel, name="cancel"),
    path("waitlist/<int:pk>/<str:action>/", dashboard.waitlist_action, name="waitlist_action"),
    path("console/", manager.console, name="console"),
    path("console/queue/", manager.console_queue, name="console_queue"),
    path("console/bookings/decide/", manager.decide_many, name="decide_many"),
    path("console/bookings/<int:pk>/<str:action>/", manager.decide, name="decide"),
    path("console/facilities/<str:code>/", manager.console_facility, name="console_facility"),
    path("console/facilities/<str:code>/calendar/", resource_calendar.resource_calendar, name="resource_calendar"),
    path(
        "console/facilities/<str:code>/calendar/timeline/",
        resource_calendar.resource_calendar_fragment,
        name="resource_timeline",
    ),
    path(
        "console/facilities/<str:code>/instruments/<int:pk>/rules/", manager.instrument_rules, name="instrument_rules"
    ),
    path("console/facilities/<str:code>/bookings/<int:pk>/move/", resource_calendar.move, name="resource_move"),
    path("console/facilities/<str:code>/closures/", manager.closure_create, name="closure_create"),
    path("console/facilities/<str:code>/closures/<int:pk>/remove/", manager.closure_delete, name="closure_delete"),
    path(
        "console/facilities/<str:code>/qualifications/<str:action>/", manager.qualification_change, name="qualification"
    ),
    path("finance/", finance.finance, name="finance"),
    path("finance/runs/", finance.runs_fragment, name="finance_runs"),
    path("finance/runs/start/", finance.run_invoices, name="run_invoices"),
    path("finance/invoices/<int:pk>/", finance.invoice_detail, name="invoice"),
    # before the catch-all invoice actions below
    path("finance/invoices/<int:pk>/fapiao/", receivables.fapiao_record, name="fapiao_record"),
    path("finance/invoices/<int:pk>/red-letter/", receivables.red_letter_record, name="red_letter_record"),
    path("finance/invoices/<int:pk>/<str:action>/", finance.invoice_action, name="invoice_action"),
    path("finance/claims/<int:pk>/<str:action>/", finance.claim_action, name="claim_action"),
    path("finance/receivables/statements/", receivables.statement_upload, name="statement_upload"),
    path("finance/receivables/payments/<int:pk>/assign/", receivables.payment_assign, name="payment_assign"),
    path("audit/", audit.trail, name="audit"),
    path("audit/export.csv", audit.trail_export, name="audit_export"),
    path("me/data/", audit.my_data, name="my_data"),
    path("me/data/personal-data.json", audit.my_data_json, name="my_data_json"),
    path("me/data/personal-data.zip", audit.my_data_zip, name="my_data_zip"),
]
