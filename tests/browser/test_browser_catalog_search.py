"""Finding instruments in the catalog (docs/frontend.md#finding-instruments), as a visitor would: at a
1280 px desktop and a 390×844 phone, in English and Chinese, "电镜" finds the electron microscopes of the
region (NFPS's cryo-EMs, ZJU-LIP's and SJTU's FESEMs, NJU's and USTC's TEMs) with each one's next free slot,
and the page does not scroll sideways. A signed-in researcher narrows to what they may book. Each case
saves docs/screenshots/catalog-search-<phone|desktop>-<en|zh-hans>.png."""

import re

import pytest

from .conftest import ROOT, shot
from .test_every_page import _axe, _english_left, _overflow

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
MICROSCOPES = ["NFPS", "CRYOEM-1", "CRYOEM-2", "ZJU-LIP", "FESEM-1", "SJTU-IAC", "TEM-200", "NJU-SSM", "TEM-DCOR"]
CASES = [("desktop", 1280, 900), ("phone", 390, 844)]


def _fits(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
@pytest.mark.parametrize("size,width,height", CASES, ids=[c[0] for c in CASES])
def test_searching_电镜_finds_the_electron_microscopes(new_page, live_server_url, size, width, height, lang):
    page = new_page(lang=lang, width=width, height=height)
    page.goto(live_server_url + "/catalog/")
    page.fill("#id_q", "电镜")
    page.get_by_role("button", name="搜索" if lang == "zh-hans" else "Search").click()
    page.wait_for_selector("#instrument-results")

    count = page.locator("#instrument-count").inner_text()
    assert re.search(r"\b7\b", count), count
    rows = page.locator("#instrument-results tbody tr")
    assert rows.count() == 7
    text = page.locator("#instrument-results").inner_text()
    for word in MICROSCOPES:
        assert word in text, word
    if lang == "zh-hans":
        assert "冷冻电镜1" in text and "场发射扫描电子显微镜" in text and "杭州" in text
        assert "Field-emission" not in text and "Hangzhou" not in text
    else:
        assert "Field-emission scanning electron microscope" in text and "Hangzhou" in text
    # Every row says when the instrument is next free (a time, or that there is none soon).
    for k in range(rows.count()):
        cell = rows.nth(k).locator("td.next-free")
        assert cell.locator("time").count() == 1 or "14" in cell.inner_text()

    assert _fits(page), _overflow(page)
    if size == "phone":
        # The stacked rows carry their own labels: the next free slot is named in each card.
        assert page.locator("#instrument-results td.next-free .stack-label").first.is_visible()
    if lang == "zh-hans":
        assert _english_left(page) == []
    page.locator("#instrument-results").scroll_into_view_if_needed()
    shot(page, f"catalog-search-{size}-{lang}", full_page=True)

    # The next free slot opens the instrument's week that holds it.
    link = page.locator("#instrument-results td.next-free a").first
    when = link.locator("time").get_attribute("datetime")
    link.click()
    page.wait_for_selector("#week")
    assert f"?week={when[:10]}" in page.url
    assert _fits(page), _overflow(page)


def test_a_researcher_narrows_to_the_microscopes_they_may_book(new_page, live_server_url):
    page = new_page("lin.chen", width=390, height=844)
    page.goto(live_server_url + "/catalog/")
    page.select_option("#id_technique", "microscope")
    page.check("#id_bookable")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("#instrument-results")
    rows = page.locator("#instrument-results tbody tr")
    assert rows.count() > 0
    for k in range(rows.count()):
        assert "You may book" in rows.nth(k).inner_text()
    assert page.locator("#id_bookable").is_checked()
    assert _fits(page), _overflow(page)


@pytest.mark.parametrize("lang,width,height", [("en", 1280, 900), ("zh-hans", 390, 844)])
def test_the_results_pass_axe(browser, live_server_url, lang, width, height):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` at the repository root (.ci/run does)")
    # axe-core is injected as a script tag: this context alone bypasses the Content-Security-Policy for it.
    ctx = browser.new_context(
        viewport={"width": width, "height": height},
        locale="zh-CN" if lang == "zh-hans" else "en-US",
        timezone_id="Asia/Shanghai",
        bypass_csp=True,
    )
    try:
        page = ctx.new_page()
        page.goto(live_server_url + "/catalog/?q=%E7%94%B5%E9%95%9C&technique=microscope")
        page.wait_for_selector("#instrument-results")
        assert _axe(page, AXE.read_text(encoding="utf-8")) == []
    finally:
        ctx.close()
