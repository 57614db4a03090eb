"""The manager's resource calendar in Chromium: a request appears in it live, the manager approves it from
the grid and the requester's open page shows the decision without a reload; desktop and phone, en and zh."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from .conftest import shot

pytestmark = pytest.mark.browser

SHANGHAI = ZoneInfo("Asia/Shanghai")


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_manager_approves_from_the_resource_calendar_and_the_requester_sees_it_live(new_page, live_server_url):
    researcher = new_page("wei.zhang")
    manager = new_page("ssrf.manager", width=390, height=844)  # on a phone
    week = (dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=14)).isoformat()
    researcher.goto(f"{live_server_url}/facilities/SSRF/")
    href = researcher.get_by_role("link", name=re.compile(r"^BL14W1 — ")).get_attribute("href")
    researcher.goto(f"{live_server_url}{href}?week={week}")
    researcher.wait_for_selector("#live-status[data-state=open]")
    cell = researcher.locator("#week td.free a").first
    start = cell.locator("xpath=..").get_attribute("data-start")
    day = start[:10]

    manager.goto(f"{live_server_url}/console/facilities/SSRF/calendar/?view=day&day={day}")
    manager.wait_for_selector("#live-status[data-state=open]")
    assert no_horizontal_scroll(manager)

    cell.click()
    researcher.wait_for_function("e => document.querySelector('#id_start')?.value === e", arg=start[:16])
    researcher.get_by_role("button", name="Request booking").click()
    researcher.wait_for_selector("#booking-form .success")
    booking_id = re.search(r"#(\d+)", researcher.locator("#booking-form .success").inner_text()).group(1)
    researcher.goto(live_server_url + "/me/")
    researcher.wait_for_selector("#live-status[data-state=open]")

    # The request appears in the manager's open calendar by itself, drawn as requested.
    manager.wait_for_selector(f"a[href='#booking-{booking_id}'] rect.requested")
    shot(manager, "resource-calendar-phone", full_page=True)
    assert no_horizontal_scroll(manager)
    manager.get_by_role("button", name=f"Approve #{booking_id}").click()
    manager.wait_for_selector(f"text=Booking #{booking_id} is approved.")
    manager.wait_for_selector(f"a[href='#booking-{booking_id}'] rect.approved")
    researcher.wait_for_selector(f"#booking-{booking_id} [data-status=approved]")


def test_resource_calendar_week_on_desktop_and_in_chinese(new_page, live_server_url):
    for lang, width, name in (("en", 1280, "resource-calendar"), ("zh-hans", 390, "resource-calendar-zh-phone")):
        page = new_page("ssrf.manager", lang=lang, width=width, height=844 if width == 390 else 900)
        if lang == "zh-hans":
            page.goto(live_server_url + "/console/")
            page.select_option("#lang-select", "zh-hans")
            page.locator("#lang-select").locator("xpath=ancestor::form").locator("button").click()
            page.wait_for_load_state("networkidle")
        page.goto(f"{live_server_url}/console/facilities/SSRF/calendar/?view=week")
        page.wait_for_selector("#timeline svg")
        assert no_horizontal_scroll(page)
        if lang == "zh-hans":
            assert page.get_by_role("heading", name=re.compile("资源日历")).is_visible()
        shot(page, name, full_page=True)
