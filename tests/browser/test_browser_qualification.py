"""In Chromium, at desktop size and on a 390×844 phone: a researcher who is not qualified on an
instrument sees so on its page and asks; the facility's manager grants it from the console, until a
day; the researcher's page then says so, and the booking goes through."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from .conftest import SCREENSHOTS
from .test_browser_flows import instrument_url

pytestmark = pytest.mark.browser

SHANGHAI = ZoneInfo("Asia/Shanghai")
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


def shot_of(locator, name: str) -> None:
    """A screenshot of one part of the page (the qualification box, a request card), scrolled into view."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def fits(page) -> None:
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"), "scrolls sideways"


@pytest.mark.parametrize(
    ("size", "username", "code"), [("desktop", "lin.chen", "SCM4"), ("phone", "wei.zhang", "SCM2")]
)
def test_request_grant_then_book(new_page, live_server_url, size, username, code):
    width, height = SIZES[size]
    researcher = new_page(username, width=width, height=height)
    manager = new_page("hmfl.manager", width=width, height=height)
    url = instrument_url(researcher, live_server_url, "SHMFF", code)
    day = dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=9)

    researcher.goto(url)
    state = researcher.locator("#qualification-state")
    assert state.get_attribute("data-state") == "unqualified", state.inner_text()
    fits(researcher)
    researcher.fill("#ask-note", "Trained on SHMFF's superconducting magnets in 2026")
    researcher.get_by_role("button", name="Ask to be qualified").click()
    researcher.wait_for_selector("#qualification-state[data-state=pending]")
    fits(researcher)
    shot_of(researcher.locator("#qualification"), f"qualification-asked-{size}")

    manager.goto(live_server_url + "/console/facilities/SHMFF/#qualification-requests")
    card = manager.locator(".qualification-request", has_text=username).filter(has_text=code)
    card.wait_for()
    fits(manager)
    shot_of(card, f"qualification-requests-{size}")
    last_day = (dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=180)).isoformat()
    card.locator("input[type=date]").fill(last_day)
    card.get_by_role("button", name="Grant").click()
    manager.wait_for_selector(f"text={username} is qualified on {code}.")
    assert manager.locator("tr", has_text=username).filter(has_text=last_day).count() == 1

    researcher.goto(url + f"?week={day.isoformat()}")
    researcher.wait_for_selector("#qualification-state[data-state=qualified]")
    assert last_day in researcher.locator("#qualification-state").inner_text()
    researcher.fill("#id_start", f"{day.isoformat()}T10:00")
    researcher.fill("#id_end", f"{day.isoformat()}T11:00")
    researcher.get_by_role("button", name=re.compile("^(Book|Request booking)$")).click()
    researcher.wait_for_selector("#booking-form .success")
    assert re.search(
        r"Booking #\d+ is (confirmed|requested)", researcher.locator("#booking-form .success").inner_text()
    )
    fits(researcher)
    shot_of(researcher.locator("#book-h").locator("xpath=.."), f"qualification-booked-{size}")
