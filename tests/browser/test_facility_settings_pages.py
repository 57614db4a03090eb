"""A facility's manager sets opening hours, a rate, the charge policy and a partner's time share from the
console in Chromium, at desktop and phone size, in English and Chinese; no page scrolls sideways."""

import pytest

from .conftest import shot

pytestmark = pytest.mark.browser


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def option_value(page, select: str, starts: str) -> str:
    return page.evaluate(
        "([s, t]) => [...document.querySelector(s).options].find(o => o.text.startsWith(t)).value", [select, starts]
    )


def set_language(page, live_server_url, lang: str) -> None:
    """The switch saves the language on the account, so a test asks for its language every time."""
    page.goto(live_server_url + "/console/")
    page.select_option("#lang-select", lang)
    page.locator("#lang-select").locator("xpath=ancestor::form").locator("button").click()
    page.wait_for_load_state("networkidle")


def test_manager_sets_hours_rates_policy_and_shares(new_page, live_server_url):
    page = new_page("ssrf.manager")
    set_language(page, live_server_url, "en")
    page.goto(live_server_url + "/console/facilities/SSRF/")
    page.get_by_role("link", name="Opening hours").click()
    page.wait_for_selector("h1:has-text('Opening hours')")
    page.select_option("#id_instrument", option_value(page, "#id_instrument", "BL14W1 — "))
    page.select_option("#id_weekday", "6")
    page.fill("#id_opens", "09:00")
    page.fill("#id_closes", "17:00")
    page.get_by_role("button", name="Add span").click()
    page.wait_for_selector("text=The opening hours are saved")
    assert page.get_by_role("cell", name="Sunday").first.is_visible()

    page.goto(live_server_url + "/console/facilities/SSRF/")
    page.locator("li", has_text="BL14W1").get_by_role("link", name="Rates, charges and time shares").click()
    page.wait_for_selector("#rates")
    page.select_option("#id_rate-user_class", "industry")
    page.fill("#id_rate-hourly_rate", "1500")
    page.get_by_role("button", name="Save rate").click()
    page.wait_for_selector("text=1500.00 CNY an hour from now on")

    page.select_option("#id_policy-billing_model", "greater")
    page.fill("#id_policy-late_cancel_hours", "48")
    page.get_by_role("button", name="Save policy").click()
    page.wait_for_selector("text=The charge policy of BL14W1 is saved.")

    page.select_option("#id_share-institution", option_value(page, "#id_share-institution", "ZJU — "))
    page.fill("#id_share-percent", "20")
    page.get_by_role("button", name="Save share").click()
    page.wait_for_selector("text=ZJU keeps 20")

    page.fill("#id_share-percent", "101")
    page.get_by_role("button", name="Save share").click()
    assert page.locator("#id_share-percent:invalid, .errorlist").count() >= 1  # refused, here or by the server


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
@pytest.mark.parametrize(("size", "width", "height"), [("desktop", 1280, 900), ("phone", 390, 844)])
def test_the_pages_fit_and_read_in_both_languages(new_page, live_server_url, lang, size, width, height):
    page = new_page("ssrf.manager", lang=lang, width=width, height=height)
    set_language(page, live_server_url, lang)
    page.goto(live_server_url + "/console/facilities/SSRF/hours/")
    page.wait_for_selector("h1")
    assert ("开放时间" if lang == "zh-hans" else "Opening hours") in page.locator("h1").inner_text()
    assert no_horizontal_scroll(page)
    shot(page, f"console-hours-{size}-{lang}", full_page=True)

    page.goto(live_server_url + "/console/facilities/SSRF/")
    label = "收费标准、计费规则与机时份额" if lang == "zh-hans" else "Rates, charges and time shares"
    page.get_by_role("link", name=label).first.click()
    page.wait_for_selector("#time-shares")
    assert no_horizontal_scroll(page)
    shot(page, f"console-pricing-{size}-{lang}", full_page=True)
