"""The instrument's week grid and booking on behalf, in Chromium at a 1280×800 desktop and a 390×844 phone,
in English and Chinese:

- all seven days fit the calendar at desktop size (Sunday is not clipped); a phone shows one day at a
  time, with day links that switch it;
- a 30-minute instrument has 30-minute cells and leaves out the hours it is always closed;
- tapping a free cell fills the booking form, brings it into view and puts the cursor in it;
- the viewer's own booking (and request) is told apart from others', an overnight booking reads as one block
  with its times, and the grid redraws itself live;
- a manager books on behalf of a user from the resource calendar; Approve/Reject there and in the console
  queue, and Cancel on My bookings, are reachable on a phone without sideways scrolling."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from .conftest import shot

pytestmark = pytest.mark.browser

SHANGHAI = ZoneInfo("Asia/Shanghai")
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
CASES = [(size, lang) for size in SIZES for lang in ("en", "zh-hans")]
IDS = [f"{s}-{lang}" for s, lang in CASES]


def monday_in(weeks: int) -> dt.date:
    today = dt.datetime.now(SHANGHAI).date()
    return today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=weeks)


def instrument_url(page, base: str, facility: str, code: str) -> str:
    page.goto(f"{base}/facilities/{facility}/")
    href = page.get_by_role("link", name=re.compile(rf"^{re.escape(code)} — ")).first.get_attribute("href")
    return base + href


def open_page(new_page, who, size: str, lang: str):
    width, height = SIZES[size]
    page = new_page(who, lang=lang, width=width, height=height)
    if who:  # a signed-in person's pages follow their saved language (an earlier case may have changed it)
        page.select_option("#lang-select", lang)
        page.click("form.lang button[type=submit]")
        page.wait_for_load_state("networkidle")
    return page


def fits(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def within_screen(locator) -> bool:
    box = locator.bounding_box()
    width = locator.page.viewport_size["width"]
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


def visible_day_columns(page) -> int:
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('#week thead th:not(.time)'))
                      .filter(th => getComputedStyle(th).display !== 'none').length"""
    )


@pytest.mark.parametrize(("size", "lang"), CASES, ids=IDS)
def test_the_week_grid_at_each_size(new_page, live_server_url, size, lang):
    page = open_page(new_page, "wei.zhang", size, lang)
    url = instrument_url(page, live_server_url, "SJTU-IAC", "XRD-1")
    week = monday_in(1)
    page.goto(f"{url}?week={week.isoformat()}")
    page.wait_for_selector("#live-status[data-state=open]")
    assert fits(page), page.evaluate("document.scrollingElement.scrollWidth")
    # A 30-minute instrument open 08:00–21:00 (Saturday 09:00–17:00): 30-minute rows from 08:00 to 20:30.
    labels = page.locator("#week tbody th.time").all_inner_texts()
    assert labels[:3] == ["08:00", "08:30", "09:00"] and labels[-1] == "20:30"
    assert page.locator("#hidden-hours").inner_text().count(":") >= 4
    if size == "desktop":
        assert visible_day_columns(page) == 7
        wrap = page.evaluate(
            "(() => { const w = document.getElementById('week-wrap'); return [w.scrollWidth, w.clientWidth]; })()"
        )
        assert wrap[0] <= wrap[1], f"the week scrolls inside its box: {wrap}"  # Sunday is not clipped
        assert within_screen(page.locator("#week thead th").last)
        assert not page.locator("#day-nav").is_visible()
    else:
        assert visible_day_columns(page) == 1 and page.locator("#day-nav").is_visible()
        page.locator("#day-nav a[data-col='3']").click()
        assert page.locator("#week").get_attribute("data-show") == "3"
        assert visible_day_columns(page) == 1
        thursday = (week + dt.timedelta(days=3)).strftime("%m-%d")
        assert thursday in page.locator("#week thead th:not(.time)").nth(3).inner_text()
        assert page.locator("#day-nav a[data-col='3']").get_attribute("aria-current") == "date"
        assert fits(page)

    # Tap a free cell: the form gets its times, comes into view and takes the cursor.
    column = 3 if size == "phone" else 1
    cell = page.locator(f"#week tbody tr td:nth-child({column + 2}).free a").nth(4)
    start = cell.evaluate("a => a.parentNode.dataset.start")
    page.evaluate("window.scrollTo(0, 0)")
    cell.click()
    page.wait_for_function(
        "s => document.querySelector('#booking-form input[name=start]')"
        " && document.querySelector('#booking-form input[name=start]').value === s",
        arg=start[:16],
    )
    page.wait_for_function("() => !!document.activeElement && !!document.activeElement.closest('#booking-form')")
    top = page.evaluate("document.getElementById('booking-form').getBoundingClientRect().top")
    assert -2 <= top < SIZES[size][1] / 2, top  # at the top of the screen, or already in its upper half
    # Book it: the cell becomes the viewer's own booking, drawn again live.
    page.locator("#booking-form button[type=submit]").last.click()
    page.wait_for_selector("#booking-form .success")
    own = page.locator(f"#week td[data-start='{start}']")
    own.and_(page.locator(".own")).wait_for()
    assert "mine" in own.get_attribute("class")
    label = "您的预约" if lang == "zh-hans" else "Your booking"
    assert label in own.inner_text()
    assert fits(page)
    # Last: a screenshot leaves marks in the page that htmx would copy into the next swap.
    shot(page, f"instrument-grid-{size}-{lang}", full_page=True)
    assert fits(page)


@pytest.mark.parametrize(("size", "lang"), CASES, ids=IDS)
def test_booking_on_behalf_and_reachable_actions(new_page, live_server_url, size, lang):
    # The manager books WM2 for wei.zhang overnight, from the resource calendar.
    manager = open_page(new_page, "hmfl.manager", size, lang)
    tuesday = monday_in(2 + CASES.index((size, lang))) + dt.timedelta(days=1)
    manager.goto(f"{live_server_url}/console/facilities/SHMFF/calendar/?view=day&day={tuesday.isoformat()}")
    assert fits(manager)
    manager.fill("#id_behalf-username", "wei.zhang")
    manager.locator("#id_behalf-account option").nth(1).wait_for(state="attached")  # the user's accounts
    wm2 = manager.locator("#id_behalf-instrument option", has_text=re.compile(r"^WM2 — ")).get_attribute("value")
    manager.select_option("#id_behalf-instrument", value=wm2)
    manager.fill("#id_behalf-start", f"{tuesday.isoformat()}T22:00")
    manager.fill("#id_behalf-end", f"{(tuesday + dt.timedelta(days=1)).isoformat()}T02:00")
    manager.select_option("#id_behalf-account", index=1)
    manager.click("#book-on-behalf button[type=submit]")
    manager.wait_for_load_state("networkidle")
    done = manager.locator("p.success[role=status]")
    assert done.count() == 1, manager.locator("p.errors").all_inner_texts()
    number = re.search(r"#(\d+)", done.inner_text()).group(1)
    assert "wei.zhang" in done.inner_text()
    assert fits(manager)
    shot(manager, f"resource-calendar-{size}-{lang}", full_page=True)
    row = manager.locator(f"#booking-{number}")
    assert row.count() == 1
    if row.get_attribute("data-status") == "requested":
        assert within_screen(row.locator("button.btn").first)  # Approve
        assert within_screen(row.locator("button.danger"))  # Reject
    # The console queue's Approve/Reject fit a phone as well.
    manager.goto(f"{live_server_url}/console/")
    manager.wait_for_selector("#live-status[data-state=open]")  # the queue is fetched again once live
    manager.wait_for_load_state("networkidle")
    assert fits(manager)
    for button in manager.locator("form button.btn").all()[:6]:
        if button.is_visible():
            assert within_screen(button), (button.inner_text(), button.bounding_box())

    # wei.zhang sees it as theirs, one block over midnight with its times; others see it as booked.
    researcher = open_page(new_page, "wei.zhang", size, lang)
    url = instrument_url(researcher, live_server_url, "SHMFF", "WM2")
    researcher.goto(f"{url}?week={tuesday.isoformat()}&day={tuesday.isoformat()}")
    first = researcher.locator(f"#week td[data-start='{tuesday.isoformat()}T22:00:00+08:00']")
    assert "own" in first.get_attribute("class")
    text = first.inner_text()
    assert ("22:00–次日 02:00" if lang == "zh-hans" else "22:00–02:00 (next day)") in text, text
    shot(researcher, f"instrument-own-{size}-{lang}", full_page=True)
    if size == "phone":
        researcher.locator("#day-nav a[data-col='2']").click()
    after = researcher.locator(f"#week td[data-start='{(tuesday + dt.timedelta(days=1)).isoformat()}T00:00:00+08:00']")
    assert ("至 02:00" if lang == "zh-hans" else "until 02:00") in after.inner_text()
    assert fits(researcher)
    # Cancel on My bookings is on the screen of a phone.
    researcher.goto(f"{live_server_url}/me/")
    researcher.wait_for_selector("#live-status[data-state=open]")
    researcher.wait_for_load_state("networkidle")
    assert fits(researcher)
    cancel = researcher.locator(f"a[href$='/bookings/{number}/cancel/']")  # to the confirmation stating any fee
    assert cancel.count() == 1 and within_screen(cancel)

    other = open_page(new_page, "lin.chen", size, lang)
    other.goto(f"{url}?week={tuesday.isoformat()}&day={tuesday.isoformat()}")
    theirs = other.locator(f"#week td[data-start='{tuesday.isoformat()}T22:00:00+08:00']")
    assert "own" not in theirs.get_attribute("class") and "booking" in theirs.get_attribute("class")
