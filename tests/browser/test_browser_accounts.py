"""End-to-end in Chromium: registering with a verified e-mail address and joining an institution, an
institution administrator's invitation that ends in a booking, and a research group's hour limit.

Mail is read where the embedded server keeps it: the outbox, in the Django admin (platform administrator)."""

import datetime as dt
import json
import re
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from .conftest import shot

pytestmark = pytest.mark.browser

SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "violet-harbour-quartz"


def mail_body(admin, base: str, address: str, subject_part: str = "") -> str:
    """The newest message to `address` (with `subject_part` in its subject), as the outbox shows it."""
    admin.goto(f"{base}/admin/outbox/outboxmessage/?q={quote(address)}")
    rows = admin.locator("#result_list tbody tr")
    if subject_part:
        rows = rows.filter(has_text=subject_part)
    rows.first.locator("a").first.click()
    return admin.locator(".field-body .readonly").inner_text()


def link_path(body: str, prefix: str) -> str:
    found = re.search(rf"https?://[^/\s]+({re.escape(prefix)}\S+/)", body)
    assert found is not None, body
    return found.group(1)


def api(page, base: str, method: str, path: str, body: dict | None = None):
    """The API as the signed-in page's person (session and CSRF token of the page)."""
    token = json.loads(page.get_attribute("body", "hx-headers"))["X-CSRFToken"]
    response = page.request.fetch(
        base + path,
        method=method,
        headers={"X-CSRFToken": token, "Content-Type": "application/json", "Referer": page.url},
        data=json.dumps(body) if body is not None else None,
    )
    return response


def next_week() -> str:
    return (dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=7)).isoformat()


def test_register_verify_join_and_the_institution_administrator_approves(new_page, live_server_url):
    person = new_page()
    person.goto(live_server_url + "/login/")
    person.get_by_role("link", name="Register").click()
    person.fill("#id_username", "li.na")
    person.fill("#id_email", "li.na@mail.ustc.edu.cn")
    person.fill("#id_password1", PASSWORD)
    person.fill("#id_password2", PASSWORD)
    person.check("#id_kind_0")
    shot(person, "register")
    person.get_by_role("button", name="Register").click()
    person.wait_for_url(re.compile(r"/accounts/confirm-email/$"))
    assert person.get_by_role("heading", name="Confirm your e-mail address").is_visible()

    # Not before the address is verified, even with the right password.
    other = new_page()
    other.goto(live_server_url + "/login/")
    other.fill("#id_username", "li.na")
    other.fill("#id_password", PASSWORD)
    other.click("form[action='/login/'] button[type=submit]")
    assert "Confirm your e-mail address first" in other.locator("[role=alert]").inner_text()

    admin = new_page("admin")
    path = link_path(mail_body(admin, live_server_url, "li.na@mail.ustc.edu.cn"), "/accounts/confirm-email/")
    person.goto(live_server_url + path)
    person.get_by_role("button", name="Confirm").click()
    person.wait_for_load_state("networkidle")
    # Verified, signed in, matched to USTC by the address's domain: USTC's administrators confirm.
    person.goto(live_server_url + "/welcome/")
    assert "University of Science and Technology of China" in person.locator(".join-requests").inner_text()
    assert "awaiting confirmation by its administrators" in person.locator(".join-requests").inner_text()
    shot(person, "welcome-pending")
    # USTC's administrators were told by mail, with a link to their people page.
    assert "/institutions/USTC/people/" in mail_body(admin, live_server_url, "ustc.admin@", "li.na")

    ustc_admin = new_page("ustc.admin")
    ustc_admin.goto(live_server_url + "/institutions/USTC/people/")
    row = ustc_admin.locator("#join-requests tbody tr", has_text="li.na")
    assert "li.na@mail.ustc.edu.cn" in row.inner_text()
    shot(ustc_admin, "people-join-requests")
    row.get_by_role("button", name="Approve").click()
    ustc_admin.wait_for_load_state("networkidle")
    assert "li.na is now a researcher here." in ustc_admin.locator("[role=status]").first.inner_text()
    assert ustc_admin.locator("#join-requests tbody tr", has_text="li.na").count() == 0

    person.goto(live_server_url + "/welcome/")
    assert "you are its researcher" in person.locator(".join-requests").inner_text()
    assert person.get_by_role("link", name="My bookings").first.is_visible()


def test_an_institution_administrator_invites_a_member_who_accepts_and_books(new_page, live_server_url):
    ustc_admin = new_page("ustc.admin")
    ustc_admin.goto(live_server_url + "/institutions/USTC/people/")
    ustc_admin.fill("#id_invite-email", "zhao.lei@ustc.edu.cn")
    ustc_admin.select_option("#id_invite-role", "researcher")
    ustc_admin.get_by_role("button", name="Send the invitation").click()
    ustc_admin.wait_for_load_state("networkidle")
    assert "zhao.lei@ustc.edu.cn" in ustc_admin.locator("[role=status]").first.inner_text()

    admin = new_page("admin")
    path = link_path(mail_body(admin, live_server_url, "zhao.lei@ustc.edu.cn"), "/invitations/")
    member = new_page()
    member.goto(live_server_url + path)
    member.fill("#id_username", "zhao.lei")
    member.fill("#id_password", PASSWORD)
    member.locator("main form button[type=submit]").click()
    member.wait_for_load_state("networkidle")
    assert "Welcome: you are Researcher at University of Science and Technology of China" in member.content()

    # The administrator gives the new member a grant to charge (accounts are made through the API).
    today = dt.datetime.now(SHANGHAI).date()
    made = api(
        ustc_admin,
        live_server_url,
        "POST",
        "/api/v1/institutions/USTC/accounts/",
        {
            "code": "USTC-ZL-2026",
            "title": "Start-up grant of Zhao Lei",
            "principal_investigator": "zhao.lei",
            "valid_from": today.isoformat(),
            "valid_until": (today + dt.timedelta(days=365)).isoformat(),
            "budget_cap": None,
        },
    )
    assert made.status == 201, made.text()

    member.goto(live_server_url + "/facilities/SSRF/")
    member.get_by_role("link", name=re.compile(r"^BL14W1 — ")).click()
    member.goto(member.url + f"?week={next_week()}")
    member.locator("#week td.free a").first.click()
    member.wait_for_selector("#id_start")
    member.wait_for_function("() => document.querySelector('#id_start').value !== ''")
    member.get_by_role("button", name="Request booking").click()
    member.wait_for_selector("#booking-form .success")
    assert "waits for a facility manager" in member.locator("#booking-form .success").inner_text()


def test_a_research_group_hour_limit_refuses_with_the_groups_name(new_page, live_server_url):
    student = new_page("jing.li")
    # The demo's group "Zhang lab: operando spectroscopy" may hold 24 hours a month of SSRF's first beamline.
    student.goto(live_server_url + "/groups/")
    student.get_by_role("link", name=re.compile("Zhang lab")).first.click()
    student.wait_for_load_state("networkidle")
    limits = student.locator("main").inner_text()
    assert "24" in limits
    student.goto(live_server_url + "/facilities/SSRF/")
    student.get_by_role("link", name=re.compile(r"^BL01B1 — ")).click()
    student.goto(student.url + f"?week={next_week()}")
    # A free 8-hour cell whose next three cells are not closed: 32 hours there break only the group's limit.
    start = student.evaluate(
        """() => {
        const cells = [...document.querySelectorAll('#week td[data-start]')];
        const byStart = new Map(cells.map(c => [Date.parse(c.dataset.start), c]));
        for (const c of cells.filter(c => c.classList.contains('free'))) {
          let t = Date.parse(c.dataset.start), ok = true;
          for (let i = 0; i < 4 && ok; i++) {
            const cell = byStart.get(t);
            ok = !!cell && (cell.classList.contains('free') || cell.classList.contains('booking'));
            if (ok) t = Date.parse(cell.dataset.end);
          }
          if (ok) return c.dataset.start;
        }
        return null;
      }"""
    )
    assert start, "no 32 free hours on BL01B1 next week"
    begin = dt.datetime.fromisoformat(start).astimezone(SHANGHAI)
    student.fill("#id_start", begin.strftime("%Y-%m-%dT%H:%M"))
    student.fill("#id_end", (begin + dt.timedelta(hours=32)).strftime("%Y-%m-%dT%H:%M"))
    student.get_by_role("button", name="Request booking").click()
    alert = student.locator("#booking-form [role=alert]").first
    alert.wait_for()
    text = alert.inner_text()
    assert "Group limit" in text and "Zhang lab: operando spectroscopy" in text, text
    shot(student, "group-limit-refusal")
