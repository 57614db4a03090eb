"""Beamtime by proposal in Chromium: the user office opens a call, a researcher submits, a reviewer
grades, the user office awards and places a session, the researcher confirms and finds it on the
instrument's calendar and in their ICS feed. A phone-width check of the proposal page."""

import datetime as dt
import re
import urllib.request
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.browser

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_call_to_session_on_the_calendar(new_page, live_server_url):
    base = live_server_url
    now = dt.datetime.now(SHANGHAI)
    today = now.date()
    office = new_page("ssrf.useroffice")
    office.goto(base + "/calls/new/")
    ssrf = office.locator("#c-fac option", has_text="SSRF —").get_attribute("value")
    office.select_option("#c-fac", ssrf)
    office.fill("#c-code", "B-1")
    office.fill("#c-title", "Browser call")
    office.fill("#c-title-zh", "浏览器测试征集")
    office.fill("#c-opens", (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    office.fill("#c-closes", (now + dt.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"))
    office.fill("#c-cs", (today + dt.timedelta(days=40)).isoformat())
    office.fill("#c-ce", (today + dt.timedelta(days=120)).isoformat())
    office.fill("#c-offers", "BL14B1 12 2")
    office.get_by_role("button", name="Open the call").click()
    office.wait_for_url(re.compile(r"/calls/\d+/ranking/"))
    call_id = re.search(r"/calls/(\d+)/", office.url).group(1)

    researcher = new_page("wei.zhang")
    researcher.goto(f"{base}/proposals/new/?call={call_id}")
    researcher.fill("#p-title", "Browser-written proposal")
    researcher.fill("#p-abstract", "XAFS of a browser.")
    researcher.locator("input[name^=shifts_]").first.fill("2")
    researcher.get_by_role("button", name="Save and submit").click()
    researcher.wait_for_url(re.compile(r"/proposals/\d+/$"))
    pid = re.search(r"/proposals/(\d+)/", researcher.url).group(1)
    assert "Submitted" in researcher.content()

    office.goto(f"{base}/proposals/{pid}/")
    for kind in ("feasibility", "safety"):
        office.select_option("#c-kind", kind)
        office.get_by_role("button", name="Record").click()
        office.wait_for_load_state("networkidle")
    office.fill("#a-rev", "reviewer.li")
    office.get_by_role("button", name="Assign", exact=True).click()
    office.wait_for_load_state("networkidle")

    reviewer = new_page("reviewer.li")
    reviewer.goto(base + "/proposals/")
    reviewer.get_by_role("link", name="Browser-written proposal").click()
    reviewer.fill("#g-grade", "4.5")
    reviewer.fill("#g-comment", "Convincing and feasible.")
    reviewer.get_by_role("button", name="Save grade").click()
    reviewer.wait_for_load_state("networkidle")

    office.goto(f"{base}/calls/{call_id}/ranking/")
    assert "4.50" in office.content()
    office.goto(f"{base}/proposals/{pid}/")
    office.get_by_role("button", name="Award", exact=True).click()
    office.wait_for_load_state("networkidle")
    office.get_by_role("button", name="Place").first.click()
    office.wait_for_load_state("networkidle")
    assert "placed" in office.content()

    researcher.goto(f"{base}/proposals/{pid}/")
    assert "Convincing and feasible." in researcher.content() and "reviewer.li" not in researcher.content()
    researcher.get_by_role("button", name="Confirm").click()
    researcher.wait_for_load_state("networkidle")
    link = researcher.locator("table a[href*='/instruments/']").first
    link.click()
    researcher.wait_for_load_state("networkidle")
    assert researcher.locator("#week td.booking").count() >= 1
    researcher.goto(base + "/me/")
    feed = researcher.locator("#cal-url").input_value()
    body = urllib.request.urlopen(feed, timeout=10).read()
    assert b"Beamtime P" + pid.encode() in body

    phone = new_page("wei.zhang", width=390, height=844)
    phone.goto(f"{base}/proposals/{pid}/")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
