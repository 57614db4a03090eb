"""Browser tests: `make run`'s server (`python -m config.serve`) on a free 127.0.0.1 port, with its own SQLite file
database migrated and loaded with the demo, driven by Debian's Chromium through Playwright.

They run when selected with `-m browser` (CI's browser step) or with SANJIAO_BROWSER_TESTS=1, and are
skipped, with the reason, when Chromium or Playwright is missing: loading the demo takes about a minute,
which the ordinary `make test` runs should not pay twice."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev,browser]')"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    selected = "browser" in (config.getoption("-m") or "") or os.environ.get("SANJIAO_BROWSER_TESTS") == "1"
    if reason is None and not selected:
        reason = (
            "browser tests run with `pytest -m browser tests/browser` (CI's browser step) or SANJIAO_BROWSER_TESTS=1"
        )
    if reason:
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _manage(env, *args, timeout=600):
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=timeout,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.fixture(scope="session")
def live_server_url():
    """The platform served as `make run` serves it, from a fresh, seeded SQLite file; stopped at the end of
    the session."""
    var = tempfile.mkdtemp(prefix="sanjiao-browser-")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(SANJIAO_VAR_DIR=var, DEBUG="0", PYTHONUNBUFFERED="1", LOG_LEVEL="WARNING")
    _manage(env, "migrate", "--noinput")
    _manage(env, "load_demo")
    port = _free_port()
    log = open(Path(var) / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "config.serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/catalog/", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "the server did not start: " + (Path(var) / "server.log").read_text(errors="replace")[-2000:]
                    ) from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(var, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


# Reported by the page itself for every resource or inline code the Content-Security-Policy refuses; the
# script is injected by the browser driver, so the policy does not apply to it.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline code"} on ${e.documentURI}`);
});
"""


@pytest.fixture
def new_page(browser, live_server_url):
    """new_page(username=None, lang="en") → a page in its own browser context (its own cookies). Every page
    it makes must get through the test without a Content-Security-Policy violation in its console."""
    contexts = []
    violations: list[str] = []

    def watch(message) -> None:
        if "Content Security Policy" in message.text or "CSP violation" in message.text:
            violations.append(message.text)

    def make(username: str | None = None, lang: str = "en", width: int = 1280, height: int = 900):
        ctx = browser.new_context(
            viewport={"width": width, "height": height},
            locale="zh-CN" if lang == "zh-hans" else "en-US",
            timezone_id="Asia/Shanghai",
        )
        ctx.set_default_timeout(15000)
        contexts.append(ctx)
        ctx.add_init_script(REPORT_CSP_VIOLATIONS)
        page = ctx.new_page()
        page.on("console", watch)
        if username:
            page.goto(live_server_url + "/login/")
            page.fill("#id_username", username)
            page.fill("#id_password", "sanjiao-demo")
            page.click("form[action='/login/'] button[type=submit]")
            page.wait_for_load_state("networkidle")
            # A refused sign-in would only show later as a missing button; say here why it was refused.
            if page.url.split("?")[0].endswith("/login/"):
                raise AssertionError(f"{username} could not sign in: " + page.locator("main").inner_text()[:500])
            # Signed-in pages follow the person's saved language, which an earlier test may have changed:
            # choose the one this page is asked in.
            if page.locator("html").get_attribute("lang") != ("zh-Hans" if lang == "zh-hans" else "en"):
                page.select_option("#lang-select", lang)
                page.click("form.lang button[type=submit]")
                page.wait_for_load_state("networkidle")
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    assert violations == [], "the Content-Security-Policy refused something:\n" + "\n".join(violations)


def shot(page, name: str, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
