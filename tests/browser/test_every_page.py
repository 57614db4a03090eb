"""Every page of tests/browser/pages.py, at a 390×844 phone and a 1280×800 desktop, in English and Chinese:

- nothing scrolls sideways (`document.scrollingElement.scrollWidth <= innerWidth`);
- axe-core (the npm package, installed into node_modules/ by `npm ci`) finds no serious or critical
  violation. It is injected as a script tag, which the Content-Security-Policy would refuse, so these
  contexts bypass the policy (tests/browser/test_browser_security.py and every other browser test keep it);
- in Chinese, no message of the catalog (locale/zh_Hans/LC_MESSAGES/django.po) shows in English: neither an
  entry without a translation nor the English text of a translated one;
- the page can be used with the keyboard: the first Tab lands on the skip link, and focus is visible.

A screenshot of each page at each size and language goes to docs/screenshots/ (docs/frontend.md)."""

import re
from pathlib import Path

import pytest

from .conftest import CHROMIUM_ARGS, ROOT, SCREENSHOTS  # noqa: F401
from .pages import PAGES, Page

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
LANGS = ("en", "zh-hans")


def _po_entries(path: Path) -> list[tuple[str, str]]:
    """(msgid, msgstr) of every singular entry of a .po file (plural entries count by their msgid)."""
    entries: list[tuple[str, str]] = []
    msgid: list[str] | None = None
    msgstr: list[str] | None = None
    current: list[str] | None = None

    def flush() -> None:
        if msgid is not None and msgstr is not None:
            entries.append(("".join(msgid), "".join(msgstr)))

    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgid "):
            flush()
            msgid, msgstr = [], None
            current = msgid
            current.append(_unquote(line[6:]))
        elif line.startswith(("msgstr ", "msgstr[0] ")):
            msgstr = []
            current = msgstr
            current.append(_unquote(line.split(" ", 1)[1]))
        elif line.startswith('"') and current is not None:
            current.append(_unquote(line))
        elif line.startswith(("msgid_plural", "msgstr[")):
            current = None
    flush()
    return [(i, s) for i, s in entries if i]


def _unquote(text: str) -> str:
    return text.strip()[1:-1].replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


ENTRIES = _po_entries(PO)
UNTRANSLATED = [msgid for msgid, msgstr in ENTRIES if not msgstr]
# English texts long enough to be a message rather than a name ("SSRF", "OK"), without placeholders.
ENGLISH = [
    msgid
    for msgid, msgstr in ENTRIES
    if msgstr and msgstr != msgid and " " in msgid and "%" not in msgid and "{" not in msgid and len(msgid) >= 12
]


def test_the_catalog_has_no_entry_without_a_translation():
    assert UNTRANSLATED == []


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` at the repository root (.ci/run does)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def contexts(browser, live_server_url):
    """One browser context per (who, size, language), signed in once."""
    made: dict = {}

    def get(who: str | None, size: str, lang: str):
        key = (who, size, lang)
        if key not in made:
            width, height = SIZES[size]
            ctx = browser.new_context(
                viewport={"width": width, "height": height},
                locale="zh-CN" if lang == "zh-hans" else "en-US",
                timezone_id="Asia/Shanghai",
                bypass_csp=True,
            )
            ctx.set_default_timeout(20000)
            page = ctx.new_page()
            if who:
                page.goto(live_server_url + "/login/")
                page.fill("#id_username", who)
                page.fill("#id_password", "sanjiao-demo")
                page.click("form[action='/login/'] button[type=submit]")
                page.wait_for_load_state("networkidle")
                # A signed-in person's pages follow their saved language, not the browser's: choose it.
                page.select_option("#lang-select", lang)
                page.click("form.lang button[type=submit]")
                page.wait_for_load_state("networkidle")
            made[key] = (ctx, page, {})
        return made[key]

    yield get
    for ctx, _page, _urls in made.values():
        ctx.close()


def _resolve(page, base: str, path: str, cache: dict) -> str:
    if not path.startswith("instrument:"):
        return base + path
    if path not in cache:
        facility, code = path.removeprefix("instrument:").split("/")
        page.goto(f"{base}/facilities/{facility}/")
        link = page.get_by_role("link", name=re.compile(rf"^{re.escape(code)} — "))
        cache[path] = base + link.first.get_attribute("href")
    return cache[path]


def _overflow(page) -> list[str]:
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('body *'))
            .filter(e => {
                const wide = x => x.getBoundingClientRect().right > window.innerWidth
                                  || x.getBoundingClientRect().left < 0;
                const wrap = e.parentElement && e.parentElement.closest('.table-wrap');
                return wide(e) && !(wrap && !wide(wrap));  // a wide table inside a wrap that fits scrolls itself
            })
            .map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + String(e.className).replace(/ /g, '.')
                 + ' right=' + Math.round(e.getBoundingClientRect().right))
            .slice(0, 8)"""
    )


def _axe(page, source: str) -> list[str]:
    page.add_script_tag(content=source)
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations
              .filter(v => v.impact === 'serious' || v.impact === 'critical')
              .map(v => `${v.impact} ${v.id}: ${v.help} — `
                        + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
        }"""
    )
    return result


def _english_left(page) -> list[str]:
    # Text marked translate="no" is shown as it was recorded (the audit trail's object names and values).
    text = page.evaluate(
        """() => { const copy = document.body.cloneNode(true);
                   copy.querySelectorAll('[translate="no"]').forEach(e => e.remove());
                   document.documentElement.appendChild(copy);
                   const t = copy.innerText; copy.remove(); return t; }"""
    )
    return sorted({msgid for msgid in ENGLISH if msgid in text})[:10]


CASES = [(p, size, lang) for p in PAGES for size in SIZES for lang in LANGS]


@pytest.mark.parametrize("target, size, lang", CASES, ids=[f"{p.name}-{s}-{lang}" for p, s, lang in CASES])
def test_every_page_fits_passes_axe_and_speaks_the_language(
    contexts, live_server_url, axe_source, target: Page, size: str, lang: str
):
    _ctx, page, cache = contexts(target.who, size, lang)
    url = _resolve(page, live_server_url, target.path, cache)
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    page.wait_for_load_state("networkidle")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{target.name}-{size}-{lang}.png"))

    problems = []
    if size == "phone":  # the phone's own width, not only the viewport's: nothing scrolls sideways at 390 px
        width = page.evaluate("document.scrollingElement.scrollWidth")
        if width > SIZES["phone"][0]:
            problems.append(f"wider than a 390 px phone: {width} px")
    wide = page.evaluate("document.scrollingElement.scrollWidth > window.innerWidth")
    if wide:
        width = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        problems.append(f"scrolls sideways ({width[0]} px in {width[1]} px): {_overflow(page)}")
    violations = _axe(page, axe_source)
    if violations:
        problems.append("axe-core: " + "; ".join(violations))
    if lang == "zh-hans":
        left = _english_left(page)
        if left:
            problems.append(f"English messages on a Chinese page: {left}")
    first = page.evaluate(
        """() => { const e = document.querySelector('a[href], button, input:not([type=hidden]), select, textarea,'
                                                 + ' [tabindex]:not([tabindex="-1"])');
                   return e && e.getAttribute('href'); }"""
    )
    if first != "#main":
        problems.append(f"the first thing the keyboard reaches is not the skip link but {first!r}")
    autofocused = page.evaluate("document.activeElement !== document.body")
    if not autofocused:  # a form that puts the cursor in its first field starts the keyboard there, rightly
        page.keyboard.press("Tab")
    focused = page.evaluate(
        """() => { const e = document.activeElement;
                   const s = getComputedStyle(e);
                   return {cls: e.className, href: e.getAttribute('href'),
                           visible: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                                    || s.boxShadow !== 'none'}; }"""
    )
    if not autofocused and focused["href"] != "#main":
        problems.append(f"the first Tab does not reach the skip link: {focused}")
    elif not focused["visible"]:
        problems.append(f"the focused element shows no focus outline: {focused}")
    assert problems == [], f"{target.name} ({url}) at {size} in {lang}:\n" + "\n".join(problems)
