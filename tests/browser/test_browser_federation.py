"""Federated sign-in in Chromium, the way the README says to try it: a server with FEDERATION_TEST_IDP=true,
the catalog and the demo's institution domains, and `manage.py configure_test_idp`. From /login/ one
chooses the test university (SAML) or the test OpenID Connect provider, picks a test person at the
provider and comes back signed in, on "Your account": ZJU confirms its people at once, so the ZJU
professor reaches My bookings as a researcher; the USTC student waits for USTC. The pages break no
Content-Security-Policy rule."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import ROOT, _free_port, _manage

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_server_url():
    """This module's own server: `make run`'s, with the test identity providers on (never in production)."""
    var = tempfile.mkdtemp(prefix="sanjiao-federation-")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(SANJIAO_VAR_DIR=var, DEBUG="0", PYTHONUNBUFFERED="1", LOG_LEVEL="WARNING")
    env.update(FEDERATION_TEST_IDP="true", SITE_URL=url)
    _manage(env, "migrate", "--noinput")
    _manage(env, "seed_catalog")
    _manage(env, "seed_demo_joining")
    _manage(env, "configure_test_idp")
    log = open(Path(var) / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "config.serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/federation/choose/", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((Path(var) / "server.log").read_text(errors="replace")[-2000:]) from None
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


def choose(page, base: str, search: str, provider: str) -> None:
    page.goto(base + "/login/")
    page.click("#federated-sign-in")
    page.fill("#idp-q", search)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name=provider).click()
    page.wait_for_url("**/test-idp/**")


def test_sign_in_through_the_test_saml_provider_and_book_as_a_zju_researcher(new_page, live_server_url):
    page = new_page()
    choose(page, live_server_url, "zju.edu.cn", "Test University")
    page.check("#person-hui\\.liu")
    page.get_by_role("button", name="Sign in").click()
    page.click("#test-idp-continue")
    page.wait_for_load_state("networkidle")
    # A first sign-in lands on "Your account"; ZJU's policy confirms its people at once.
    assert page.url.endswith("/welcome/"), page.url
    assert "Zhejiang University: you are its researcher" in page.inner_text("main")
    page.get_by_role("link", name="My bookings").last.click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/me/"), page.url
    assert page.get_by_role("button", name="Sign out").is_visible()
    page.goto(live_server_url + "/federation/sign-ins/")
    assert "Test University" in page.content() and "faculty@zju.edu.cn" in page.content()


def test_sign_in_through_the_test_openid_connect_provider_in_chinese(new_page, live_server_url):
    page = new_page(lang="zh-hans")
    page.goto(live_server_url + "/federation/choose/")
    assert "选择您的机构" in page.content()
    page.get_by_role("button", name="测试 OpenID Connect 身份提供者").click()
    page.wait_for_url("**/test-idp/oidc/authorize/**")
    page.check("#person-xiaoming\\.wang")
    page.locator("button[type=submit].btn").last.click()
    page.wait_for_load_state("networkidle")
    assert "/test-idp/" not in page.url and "/federation/" not in page.url, page.url
    # USTC confirms its people: signed in, the student's request waits for USTC's administrators.
    assert page.get_by_role("button", name="退出").is_visible()
    assert page.url.endswith("/welcome/"), page.url
    main = page.inner_text("main")
    assert "University of Science and Technology of China" in main and "等待该机构管理员确认" in main
    assert "我的预约" not in page.inner_text("header")
