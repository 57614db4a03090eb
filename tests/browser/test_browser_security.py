"""In Chromium on a 390 px phone: the API tokens page and the password pages fit the screen, a new key is
shown once; signing out in one tab ends the live connection of another."""

import re

import pytest

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def fits(page) -> bool:
    wide = page.evaluate(
        """() => Array.from(document.querySelectorAll('body *'))
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))
            .map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
            .slice(0, 5)"""
    )
    ok = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert ok, wide
    return ok


def test_tokens_and_password_pages_on_a_phone(new_page, live_server_url):
    page = new_page("wei.zhang", **PHONE)
    page.goto(live_server_url + "/me/tokens/")
    assert fits(page)
    page.fill("#id_name", "phone script")
    page.get_by_role("button", name="Make the token").click()
    page.wait_for_load_state("networkidle")
    key = page.locator("#new-key").inner_text()
    assert re.fullmatch(r"[0-9a-f]{40}", key)
    assert fits(page)
    page.goto(live_server_url + "/me/tokens/")
    assert key not in page.content() and "phone script" in page.content()
    page.get_by_role("button", name="Revoke").first.click()
    page.wait_for_load_state("networkidle")
    assert "revoked" in page.content()
    for path in ["/password/change/", "/password/reset/"]:
        page.goto(live_server_url + path)
        assert fits(page), path


def test_signing_out_in_one_tab_closes_the_live_connection_of_another(new_page, live_server_url):
    mine = new_page("wei.zhang", **PHONE)
    mine.goto(live_server_url + "/me/")
    mine.wait_for_function("document.getElementById('live-status').dataset.state === 'open'")
    other_tab = mine.context.new_page()
    other_tab.goto(live_server_url + "/me/")
    other_tab.get_by_role("button", name="Sign out").click()
    other_tab.wait_for_load_state("networkidle")
    mine.wait_for_function("document.getElementById('live-status').dataset.state === 'closed'", timeout=3000)
