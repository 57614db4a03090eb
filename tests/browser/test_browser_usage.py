"""Actual use on a phone (390×844): the manager's printable QR code leads to the check-in page; the
researcher starts and stops use there, and an open instrument page shows "in use" without a reload."""

import datetime as dt
import json
import re

import pytest

from .conftest import shot

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


# Demo researchers and an SHMFF instrument each is qualified for (booking/demo.py qualifies them).
CANDIDATES = [("yu.sun", "WM1"), ("hao.zhou", "SCM3"), ("qing.wu", "SMA"), ("wei.zhang", "WM2"), ("lin.chen", "SCM1")]


def free_instrument_now(page, base: str) -> tuple[str, int]:
    """(researcher, instrument id): an SHMFF instrument the researcher may use that nobody holds at this
    moment (the demo books some of them); closed hours do not stop a walk-up."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def z(t: dt.datetime) -> str:
        return t.isoformat().replace("+00:00", "Z")

    window = f"start={z(now)}&end={z(now + dt.timedelta(minutes=5))}"
    listed = json.loads(page.request.get(f"{base}/api/v1/instruments/?facility=SHMFF&page_size=50").text())
    ids = {item["code"]: item["id"] for item in listed["results"]}
    for username, code in CANDIDATES:
        avail = json.loads(page.request.get(f"{base}/api/v1/instruments/{ids[code]}/availability/?{window}").text())
        if not [b for b in avail["busy"] if b["kind"] == "booking"]:
            return username, ids[code]
    raise AssertionError("every candidate instrument is held now")


def test_qr_check_in_on_a_phone_and_in_use_shown_live(new_page, live_server_url):
    manager = new_page("hmfl.manager", **PHONE)
    username, instrument = free_instrument_now(manager, live_server_url)
    manager.goto(f"{live_server_url}/instruments/{instrument}/qr/")
    assert manager.locator("#qr svg").is_visible()
    link = manager.locator(".qr-sheet p.small").inner_text().strip()
    assert re.search(rf"/use/{instrument}/$", link)
    shot(manager, "usage-qr-phone")

    watcher = new_page()  # anyone: the public instrument page
    watcher.goto(f"{live_server_url}/instruments/{instrument}/")
    watcher.wait_for_selector("#live-status[data-state=open]")
    assert watcher.locator("#usage-badge").get_attribute("data-in-use") == "no"

    phone = new_page(username, **PHONE)
    phone.goto(link)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # fits the phone
    phone.get_by_role("button", name="Start use").click()
    phone.wait_for_load_state("networkidle")
    assert phone.locator("#use-state").get_attribute("data-state") == "mine", phone.locator("main").inner_text()
    assert phone.get_by_role("button", name="Stop use").is_visible()
    shot(phone, "usage-check-in-phone")
    watcher.wait_for_selector("#usage-badge[data-in-use=yes]")  # live, no reload

    phone.get_by_role("button", name="Stop use").click()
    phone.wait_for_selector("#use-state[data-state=free]")
    watcher.wait_for_selector("#usage-badge[data-in-use=no]")
