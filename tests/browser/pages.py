"""Every page a person reaches, in one list: the harness of tests/browser/test_every_page.py visits each at a
390×844 phone and a 1280×800 desktop, in English and Chinese. A new page joins with one line here.

`path` is a path on the server, or `"instrument:FACILITY/CODE"` for an instrument's page (its id is looked up
on the facility's page), or `"booking:"` followed by a path inside the first booking linked from My bookings
(`"booking:"` its page, `"booking:cancel/"` its cancel confirmation). `who` is the demo account signed in
(None: anonymous). The Django admin is left out: it is Django's own and for administrators only."""

from typing import NamedTuple


class Page(NamedTuple):
    name: str
    who: str | None
    path: str


RESEARCHER, MANAGER, FINANCE, INSTITUTION_ADMIN = "wei.zhang", "hmfl.manager", "ustc.finance", "ustc.admin"

PAGES: list[Page] = [
    Page("catalog", None, "/catalog/"),
    Page("catalog-search", None, "/catalog/?q=电镜"),
    Page("facility", None, "/facilities/SHMFF/"),
    Page("instrument", None, "instrument:SHMFF/HYBRID-45T"),
    Page("login", None, "/login/"),
    Page("password-reset", None, "/password/reset/"),
    Page("choose-institution", None, "/federation/choose/"),
    Page("dashboard", RESEARCHER, "/me/"),
    Page("dashboard-cancelled", RESEARCHER, "/me/?show=cancelled"),
    Page("booking-page", RESEARCHER, "booking:"),
    Page("booking-page-cancel", RESEARCHER, "booking:cancel/"),
    Page("instrument-signed-in", RESEARCHER, "instrument:SHMFF/HYBRID-45T"),
    Page("search", RESEARCHER, "/search/"),
    Page("tokens", RESEARCHER, "/me/tokens/"),
    Page("my-data", RESEARCHER, "/me/data/"),
    Page("sign-ins", RESEARCHER, "/federation/sign-ins/"),
    Page("password-change", RESEARCHER, "/password/change/"),
    Page("console", MANAGER, "/console/"),
    Page("console-facility", MANAGER, "/console/facilities/SHMFF/"),
    Page("resource-calendar", MANAGER, "/console/facilities/SHMFF/calendar/"),
    Page("resource-calendar-week", MANAGER, "/console/facilities/SHMFF/calendar/?view=week"),
    Page("instrument-half-hour", RESEARCHER, "instrument:SJTU-IAC/XRD-1"),
    Page("finance", FINANCE, "/finance/"),
    Page("audit", INSTITUTION_ADMIN, "/audit/"),
    Page("register", None, "/accounts/signup/"),
    Page("welcome-company", "acme.lab", "/welcome/"),
    Page("resource-calendar-day", MANAGER, "/console/facilities/SHMFF/calendar/?view=day"),
    Page("console-hours", MANAGER, "/console/facilities/SHMFF/hours/"),
    Page("proposals", RESEARCHER, "/proposals/"),
    Page("groups", RESEARCHER, "/groups/"),
    Page("institutions", INSTITUTION_ADMIN, "/institutions/"),
    Page("people", INSTITUTION_ADMIN, "/institutions/USTC/people/"),
]
