"""End-to-end in Chromium: what people do in the browser, with live updates arriving without a reload."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from .conftest import shot

pytestmark = pytest.mark.browser

SHANGHAI = ZoneInfo("Asia/Shanghai")


def next_week() -> str:
    return (dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=7)).isoformat()


def instrument_url(page, base: str, facility: str, code: str) -> str:
    page.goto(f"{base}/facilities/{facility}/")
    href = page.get_by_role("link", name=re.compile(rf"^{re.escape(code)} — ")).get_attribute("href")
    return base + href


def test_catalog_map_and_chinese_interface(new_page, live_server_url):
    page = new_page()
    page.goto(live_server_url + "/")
    assert page.url.endswith("/catalog/")
    assert page.locator("svg a .marker").count() >= 5
    shot(page, "catalog")
    # The Hefei marker filters the list to Hefei's facilities.
    page.locator("svg a[href='?city=Hefei']").click()
    page.wait_for_url(re.compile(r"city=Hefei"))
    rows = page.locator("table tbody tr")
    assert rows.count() >= 3 and "SHMFF" in page.content() and "SSRF</strong>" not in page.content()
    # Switch to Chinese with the language selector, using the keyboard-reachable form.
    page.select_option("#lang-select", "zh-hans")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.get_by_role("heading", name="设施目录").is_visible()
    page.goto(live_server_url + "/catalog/")
    shot(page, "catalog-zh")


def test_booking_turns_busy_live_and_manager_approval_reaches_researcher(new_page, live_server_url):
    researcher = new_page("wei.zhang")
    watcher = new_page()  # anyone: the public calendar, no personal data
    manager = new_page("ssrf.manager")
    url = instrument_url(researcher, live_server_url, "SSRF", "BL14W1") + f"?week={next_week()}"

    manager.goto(live_server_url + "/console/")
    manager.wait_for_selector("#live-status[data-state=open]")
    watcher.goto(url)
    watcher.wait_for_selector("#live-status[data-state=open]")
    researcher.goto(url)
    researcher.wait_for_selector("#live-status[data-state=open]")

    cell = researcher.locator("#week td.free a").first
    start = cell.locator("xpath=..").get_attribute("data-start")
    cell.click()
    # The clicked cell fills the form in place.
    expected = start[:16]
    researcher.wait_for_function(
        "e => document.querySelector('#id_start') && document.querySelector('#id_start').value === e", arg=expected
    )
    researcher.fill("#id_purpose", "Operando XAS of Pt single atoms")
    shot(researcher, "instrument", full_page=True)
    researcher.get_by_role("button", name="Request booking").click()
    researcher.wait_for_selector("#booking-form .success")
    text = researcher.locator("#booking-form .success").inner_text()
    assert "waits for a facility manager" in text
    booking_id = re.search(r"#(\d+)", text).group(1)

    # The other browser sees the slot turn busy without reloading.
    watcher.wait_for_selector(f"#week td[data-start='{start}'].booking")
    assert "Operando" not in watcher.content()

    # The request arrives in the manager's open console by itself.
    manager.wait_for_selector(f"#request-{booking_id}")
    shot(manager, "manager-console")

    researcher.goto(live_server_url + "/me/")
    researcher.wait_for_selector("#live-status[data-state=open]")
    assert researcher.locator(f"#booking-{booking_id} [data-status]").get_attribute("data-status") == "requested"

    manager.get_by_role("button", name=f"Approve #{booking_id}").click()
    manager.wait_for_selector(f"text=Booking #{booking_id} is approved.")
    # The researcher's open dashboard shows the decision without a reload.
    researcher.wait_for_selector(f"#booking-{booking_id} [data-status=approved]")
    shot(researcher, "dashboard")


def test_refusal_is_shown_in_words(new_page, live_server_url):
    page = new_page("lin.chen")
    page.goto(instrument_url(page, live_server_url, "SSRF", "BL17U1") + f"?week={next_week()}")
    page.fill("#id_start", (dt.datetime.now(SHANGHAI) + dt.timedelta(days=8)).strftime("%Y-%m-%dT09:30"))
    page.fill("#id_end", (dt.datetime.now(SHANGHAI) + dt.timedelta(days=8)).strftime("%Y-%m-%dT17:30"))
    page.get_by_role("button", name="Request booking").click()
    alert = page.locator("#booking-form [role=alert]").first
    alert.wait_for()
    assert "Booking unit" in alert.inner_text()


def test_finance_runs_invoices_and_downloads_csv(new_page, live_server_url):
    page = new_page("ustc.finance")
    assert page.url.endswith("/finance/")
    last = (dt.datetime.now(SHANGHAI).date().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    page.fill("#id_period", last)
    page.get_by_role("button", name="Run invoices").click()
    page.wait_for_selector(f"text=The invoice run for {last} has started.")
    # In-process on the embedded default, by a worker otherwise: the run list refreshes until it is done.
    page.wait_for_selector("#runs tr[data-status=done]")
    page.reload()
    first = page.locator("tr[data-invoice]").first
    first.wait_for()
    shot(page, "finance")
    with page.expect_download() as info:
        first.get_by_role("link", name="CSV").click()
    download = info.value
    text = open(download.path(), encoding="utf-8-sig").read()
    header = text.splitlines()[0].split(",")
    assert "amount" in header and len(text.splitlines()) >= 2


def test_manager_facility_page_and_joint_search(new_page, live_server_url):
    manager = new_page("hmfl.manager")
    manager.goto(live_server_url + "/console/facilities/SHMFF/")
    manager.get_by_role("heading", name=re.compile("Utilisation in")).wait_for()
    shot(manager, "manager-facility")
    researcher = new_page("wei.zhang")
    researcher.goto(live_server_url + "/search/")
    options = researcher.locator("#id_instruments option", has_text="SCM")
    values = [options.nth(i).get_attribute("value") for i in range(2)]
    researcher.select_option("#id_instruments", values)
    researcher.fill("#id_duration_hours", "2")
    researcher.get_by_role("button", name="Search").click()
    researcher.get_by_role("heading", name=re.compile("common window")).wait_for()
    shot(researcher, "joint-search")


def test_chinese_instrument_page(new_page, live_server_url):
    page = new_page("lin.chen")
    page.select_option("#lang-select", "zh-hans")
    page.locator("form.lang button").click()
    page.wait_for_load_state("networkidle")
    page.goto(instrument_url(page, live_server_url, "SSRF", "BL17U1") + f"?week={next_week()}")
    page.get_by_role("heading", name="空闲与占用时间").wait_for()
    page.wait_for_selector("#live-status[data-state=open]")
    shot(page, "instrument-zh", full_page=True)


def test_api_docs_page_works_under_the_content_security_policy(new_page, live_server_url):
    """Swagger UI from drf-spectacular-sidecar's files and the split view's start-up script: no CDN, no inline code."""
    page = new_page()
    response = page.goto(live_server_url + "/api/v1/docs/")
    assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    page.locator(".swagger-ui .info .title", has_text="Sanjiao API").wait_for()
    # The schema loaded and Swagger drew it: the first operation of the list (Swagger draws a long list
    # progressively, so one far down may not be drawn yet).
    page.locator(".opblock-summary-path", has_text="/api/v1/accounts/").first.wait_for(timeout=60_000)
    login = new_page()
    login.goto(live_server_url + "/login/")
    login.locator(".narrow-card h1").wait_for()


def test_a_csp_violation_would_be_seen(browser, live_server_url):
    """The check every browser test ends with can fail: inline code on a page of ours is refused and reported."""
    from .conftest import REPORT_CSP_VIOLATIONS

    ctx = browser.new_context()
    try:
        ctx.add_init_script(REPORT_CSP_VIOLATIONS)
        page = ctx.new_page()
        seen: list[str] = []
        page.on("console", lambda message: seen.append(message.text))
        page.goto(live_server_url + "/catalog/")
        page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">inline</p>')")
        page.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
            " document.body.append(s); }"
        )
        page.wait_for_timeout(300)
        assert page.evaluate("window.ran") is None, "an inline script ran"
        assert any("CSP violation" in text for text in seen), seen
    finally:
        ctx.close()
