"""The points of a day's work on the platform, checked as each role sees them in Chromium, at a 1280×800
desktop and a 390×844 phone, in English and Chinese:

- the home page says in one sentence what Sanjiao is and where each role starts, and each role lands there;
- the manager's queue tells enough to decide (requester and institution, cost and payers, qualification,
  conflicts) and decides several requests at once;
- the utilisation chart has units, one scale for every instrument, a period picker, and a year counted over
  the months that have passed;
- invoices are told apart in the finance list, the run counts only what the officer may see, and the PDF
  embeds its fonts, groups thousands and shows hours × rate (rendered to PNG in docs/screenshots/);
- links in mail point where the server is actually served;
- the outbox shows sent mail with its calendar invitations in the browser.

Screenshots of each page at each size and language go to docs/screenshots/ (docs/frontend.md)."""

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from .conftest import SCREENSHOTS, shot
from .test_every_page import _english_left

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
CASES = [(size, lang) for size in SIZES for lang in ("en", "zh-hans")]
IDS = [f"{size}-{lang}" for size, lang in CASES]


def open_as(new_page, live_server_url, who: str | None, size: str, lang: str):
    """A page signed in as `who` (None: anonymous) in the given size and language. A signed-in person's pages
    follow their saved language, not the browser's, so it is chosen every time."""
    width, height = SIZES[size]
    page = new_page(who, lang=lang, width=width, height=height)
    if who:
        page.select_option("#lang-select", lang)
        page.click("form.lang button[type=submit]")
        page.wait_for_load_state("networkidle")
    return page


def fits(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def speaks(page, lang: str) -> list[str]:
    """Messages of the catalog left in English on a Chinese page (none on an English one)."""
    return _english_left(page) if lang == "zh-hans" else []


def in_view_horizontally(locator) -> bool:
    """The element can be reached without scrolling sideways (it may be below the fold)."""
    return locator.evaluate(
        "e => { const r = e.getBoundingClientRect(); return r.left >= 0 && r.right <= innerWidth; }"
    )


# 13. ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size, lang", CASES, ids=IDS)
def test_the_home_page_says_what_sanjiao_is_and_where_each_role_starts(new_page, live_server_url, size, lang):
    page = open_as(new_page, live_server_url, None, size, lang)
    page.goto(live_server_url + "/")
    sentence = page.locator("#what-is-sanjiao")
    sentence.wait_for()
    text = sentence.inner_text()
    # Researchers, facility managers (not the platform's administrators) and finance officers.
    words = ("Yangtze River Delta", "facility managers") if lang == "en" else ("长三角", "设施管理员")
    assert all(w in text for w in words), text
    hrefs = sentence.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == ["/me/", "/console/", "/finance/"]
    assert fits(page)
    assert speaks(page, lang) == []
    shot(page, f"home-{size}-{lang}")

    # Each role lands where the sentence says it starts.
    for who, start in (("wei.zhang", "/me/"), ("ssrf.manager", "/console/"), ("ustc.finance", "/finance/")):
        signed_in = new_page(who, lang=lang, width=SIZES[size][0], height=SIZES[size][1])
        assert signed_in.url == live_server_url + start, (who, signed_in.url)


# 8. -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size, lang", CASES, ids=IDS)
def test_the_queue_tells_enough_to_decide(new_page, live_server_url, size, lang):
    page = open_as(new_page, live_server_url, "ssrf.manager", size, lang)
    page.goto(live_server_url + "/console/")
    rows = page.locator("table.queue tbody tr[id^=request-]")
    rows.first.wait_for()
    assert rows.count() >= 1
    row = rows.first
    text = row.inner_text()
    assert re.search(r"\([A-Z][A-Z0-9-]+\)", text), text  # the requester's institution, by name and code
    cost = row.locator("[data-cost]").inner_text()
    assert "¥" in cost and " h × " in cost and "%" in cost, cost  # total, hours × rate, payers' shares
    checks = row.locator("[data-checks]").inner_text()
    words = {
        "en": ("Qualified", "qualification", "conflicts", "closure"),
        "zh-hans": ("资质", "冲突", "闭馆", "停机"),
    }[lang]
    assert any(w in checks for w in words), checks
    for button in (
        row.locator("button[type=submit]").first,
        page.locator("#bulk-decide button[value=approve]"),
        page.locator("#bulk-decide button[value=reject]"),
    ):
        assert in_view_horizontally(button)
    assert fits(page)
    assert speaks(page, lang) == []
    shot(page, f"queue-{size}-{lang}")


def test_several_requests_are_approved_at_once_on_a_phone_in_chinese(new_page, live_server_url):
    # Two more requests, so the demo's own stay for the other tests.
    ids, researchers = [], []
    for who, code in (("lin.chen", "BL17U1"), ("yu.sun", "BL02U1")):
        researcher = open_as(new_page, live_server_url, who, "desktop", "en")
        ids.append(_request(researcher, live_server_url, code, days=20))
        researchers.append(researcher)

    manager = open_as(new_page, live_server_url, "ssrf.manager", "phone", "zh-hans")
    manager.goto(live_server_url + "/console/")
    manager.wait_for_selector("#live-status[data-state=open]")
    for pk in ids:
        manager.check(f"#tick-{pk}")
    manager.fill("#bulk-reason", "两个一起")
    # Another request arrives while the manager decides: the queue is drawn again, the ticks and the note stay.
    other = _request(open_as(new_page, live_server_url, "hao.zhou", "desktop", "en"), live_server_url, "BL19U1", 22)
    manager.wait_for_selector(f"#request-{other}")
    assert all(manager.is_checked(f"#tick-{pk}") for pk in ids)
    assert manager.input_value("#bulk-reason") == "两个一起"
    with manager.expect_navigation():
        manager.click("#bulk-decide button[value=approve]")
    status = manager.locator("main p.success[role=status]")
    status.wait_for()
    assert manager.locator("main p.errors").all_inner_texts() == []
    assert all(f"#{pk}" in status.inner_text() for pk in ids), (ids, status.inner_text())
    for pk in ids:
        assert manager.locator(f"#request-{pk}").count() == 0
    for researcher, pk in zip(researchers, ids, strict=True):
        researcher.goto(live_server_url + "/me/")
        researcher.locator(f"#booking-{pk} [data-status=approved]").first.wait_for()


def _request(page, base: str, code: str, days: int) -> int:
    """A request for `code` of SSRF (booked in 8-hour blocks from midnight), the first weekday `days` ahead,
    made through the API with the page's session; its id."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    page.goto(base + "/facilities/SSRF/")
    href = page.get_by_role("link", name=re.compile(rf"^{code} — ")).get_attribute("href")
    pk = int(re.search(r"/instruments/(\d+)/", href).group(1))
    day = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=days)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    start = dt.datetime.combine(day, dt.time(8), tzinfo=ZoneInfo("Asia/Shanghai"))
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        base + "/api/v1/bookings/",
        headers={"X-CSRFToken": csrf, "Referer": base + "/"},
        data={
            "instrument": pk,
            "start": start.isoformat(),
            "end": (start + dt.timedelta(hours=8)).isoformat(),
            "purpose": "Beam time for a test",
        },
    )
    assert response.status == 201, response.text()
    return response.json()["id"]


# 10. ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size, lang", CASES, ids=IDS)
def test_the_utilisation_chart_does_not_mislead(new_page, live_server_url, size, lang):
    page = open_as(new_page, live_server_url, "hmfl.manager", size, lang)
    page.goto(live_server_url + "/console/facilities/SHMFF/")
    chart = page.locator("figure.chart svg").first
    chart.wait_for()
    # Units on the axis: every tick is a percentage, and the axis has a title.
    ticks = chart.locator("text.tick").all_text_contents()  # SVG text has no innerText
    assert ticks and all(t.endswith("%") for t in ticks), ticks
    assert ticks[0] == "0%"
    assert (chart.locator("text.axis-title").text_content() or "").strip()
    # One scale for every instrument: each bar's length is its percentage on the axis's scale, so a small
    # figure draws as a short bar.
    axis = chart.locator("line.axis")
    x1, x2 = (float(axis.get_attribute(a)) for a in ("x1", "x2"))
    top = Decimal(ticks[-1].rstrip("%"))
    bars = chart.locator("rect.bar")
    assert bars.count() >= 2
    for i in range(bars.count()):
        bar = bars.nth(i)
        pct = Decimal(re.search(r"([\d.]+)%", bar.locator("title").text_content() or "").group(1))
        width = Decimal(bar.get_attribute("width"))
        expected = pct / top * Decimal(x2 - x1)
        assert abs(width - expected) <= 2, (pct, width, expected)
    # A period picker, not free text: months, quarters and years to choose from.
    picker = page.locator("select#util-period")
    assert picker.locator("optgroup").count() == 3
    years = picker.locator("optgroup").nth(2).locator("option").all_inner_texts()
    this_year = max(years)
    picker.select_option(this_year)
    page.locator("select#util-period").locator("xpath=ancestor::form").locator("button").click()
    page.wait_for_load_state("networkidle")
    assert f"period={this_year}" in page.url
    # The year that has not ended counts up to now, and says so.
    until = page.locator("[data-until]")
    assert until.count() == 1 and re.search(r"\d{4}-\d\d-\d\d", until.inner_text())
    assert fits(page)
    assert speaks(page, lang) == []
    page.locator("figure.chart").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"utilisation-{size}-{lang}.png"))


# 11. ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size, lang", CASES, ids=IDS)
def test_invoices_are_told_apart_and_counted_as_the_officer_sees_them(new_page, live_server_url, size, lang):
    page = open_as(new_page, live_server_url, "ustc.finance", size, lang)
    period = _a_period_with_invoices(page, live_server_url)
    refs = page.locator("tr[data-invoice] td:first-child a").all_inner_texts()
    assert len(refs) >= 2 and len(set(refs)) == len(refs), refs  # drafts too: DRAFT-<id> until numbered
    # The run of that month counts only the invoices this officer may see: at most those listed.
    run = page.locator("#runs tr[data-run]").filter(has=page.locator(f"a[href='?period={period}']"))
    if run.count():
        assert int(run.first.locator("[data-visible-invoices]").inner_text()) <= len(refs)
    assert fits(page)
    assert speaks(page, lang) == []
    shot(page, f"finance-invoices-{size}-{lang}")
    page.locator("tr[data-invoice] td:first-child a").first.click()
    page.wait_for_load_state("networkidle")
    assert fits(page)
    assert speaks(page, lang) == []
    shot(page, f"invoice-{size}-{lang}")


def _a_period_with_invoices(page, base: str) -> str:
    """The newest month with at least two invoices the officer can see; an invoice run for last month first
    when there is none (the demo has its history)."""
    page.goto(base + "/finance/")
    for link in page.locator("#runs tr[data-run] td:first-child a").all():
        period = link.inner_text()
        page.goto(f"{base}/finance/?period={period}")
        if page.locator("tr[data-invoice]").count() >= 2:
            return period
        page.goto(base + "/finance/")
    raise AssertionError("no month with two invoices in the demo")


needs_poppler = pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils is not installed")


@needs_poppler
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_invoice_pdf_embeds_its_fonts_groups_thousands_and_shows_hours_times_rate(
    new_page, live_server_url, lang, tmp_path
):
    page = open_as(new_page, live_server_url, "ustc.finance", "desktop", lang)
    _a_period_with_invoices(page, live_server_url)
    # The largest invoice: its total is in the thousands.
    rows = page.locator("tr[data-invoice]")
    totals = [Decimal(re.sub(r"[^\d.]", "", t)) for t in rows.locator("td:nth-child(6)").all_inner_texts()]
    row = rows.nth(totals.index(max(totals)))
    with page.expect_download() as info:
        row.get_by_role("link", name="PDF").click()
    pdf = Path(info.value.path())
    fonts = subprocess.run(["pdffonts", pdf], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts and all(" yes yes " in line for line in fonts), fonts  # every font embedded (subset)
    text = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True, check=True).stdout
    assert "?" not in re.sub(r"https?://\S+", "", text), text  # a glyph no font has is drawn as "?"
    assert "DRA FT" not in text
    assert re.search(r"\d+\.\d\d h × [\d,]+\.\d\d", text), text
    if max(totals) >= 1000:
        assert re.search(r"\d{1,3},\d{3}\.\d\d", text), text
    out = SCREENSHOTS / f"invoice-pdf-{lang}"
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", pdf, out], check=True)
    assert out.with_suffix(".png").stat().st_size > 10_000


# 12 and 14. -----------------------------------------------------------------------------------------------

MAILED: dict[str, int] = {}


@pytest.mark.parametrize("size, lang", CASES, ids=IDS)
def test_the_outbox_shows_sent_mail_whose_links_follow_the_serving_address(new_page, live_server_url, size, lang):
    # A request the server sends mail about (to the requester and the facility's managers), made once.
    if "booking" not in MAILED:
        researcher = open_as(new_page, live_server_url, "hao.zhou", "desktop", "en")
        MAILED["booking"] = _request(researcher, live_server_url, "BL19U1", days=25)
    booking = MAILED["booking"]

    admin = open_as(new_page, live_server_url, None, size, lang)
    admin.goto(live_server_url + "/admin/login/?next=/admin/outbox/outboxmessage/")
    admin.fill("#id_username", "admin")
    admin.fill("#id_password", "sanjiao-demo")
    admin.click("input[type=submit]")
    admin.wait_for_load_state("networkidle")
    assert admin.url.endswith("/admin/outbox/outboxmessage/"), admin.url
    rows = admin.locator("#result_list tbody tr")
    assert rows.count() >= 1
    crumbs = admin.locator(".breadcrumbs").inner_text()
    assert ("Outbox" if lang == "en" else "发件箱") in crumbs, crumbs
    assert fits(admin)  # the admin's own list scrolls inside its .results box
    shot(admin, f"outbox-{size}-{lang}")
    # The message about this request, opened: its links start where this server is served. Mail leaves
    # once the request is committed: the list is read again until it is there.
    for _ in range(20):
        admin.goto(f"{live_server_url}/admin/outbox/outboxmessage/?q=%23booking-{booking}")
        found = admin.locator("#result_list tbody tr a[href*='/change/']")
        if found.count():
            break
        admin.wait_for_timeout(500)
    found.first.click()
    admin.wait_for_load_state("networkidle")
    message = admin.locator("#content").inner_text()
    assert f"#booking-{booking}" in message, message
    links = re.findall(r"https?://[^\s\"'<>]+", message)
    assert links and all(link.startswith(live_server_url) for link in links), links
    shot(admin, f"outbox-message-{size}-{lang}", full_page=True)
