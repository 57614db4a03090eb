"""Settings that fail closed, the HTTPS switches, `check --deploy` with the documented production settings, and
a Content-Security-Policy that no page of the platform breaks (no inline script, style or event handler)."""

import os
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from django.test import Client

from config.env import env_header_pair
from config.secret import ensure_key_file, secret_key

from .factories.billing import book, complete
from .servers import ROOT

# What docs/security.md ("Deployment settings") documents as the production environment, less the
# services (they do not take part in `check --deploy`).
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x7Qe-production-key-for-the-check-only-0123456789-abcdefghij",
    "ALLOWED_HOSTS": "sanjiao.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://sanjiao.example.org",
    "HTTPS": "true",
    "SECURE_HSTS_PRELOAD": "true",
}


def _django(code: str, env: dict[str, str], tmp_path, *args: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh Python with `env` (and no SECRET_KEY unless given), the checkout's var/ unseen."""
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "REDIS_URL", "DATABASE_URL")}
    base.update(SANJIAO_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="config.settings", **env)
    prelude = f"import pathlib, config.secret; config.secret.ROOT = pathlib.Path({str(tmp_path)!r})\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code, *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120
    )


def test_without_a_secret_key_the_server_refuses_to_start_and_says_how_to_set_one(tmp_path):
    started = _django("from config.serve import main; main()", {"DEBUG": "false"}, tmp_path)
    assert started.returncode != 0
    assert "SECRET_KEY is not set" in started.stderr and "secrets.token_urlsafe" in started.stderr
    # DEBUG does not open a back door either: there is no public key to fall back on.
    assert _django("import django; django.setup()", {"DEBUG": "true"}, tmp_path).returncode != 0


def test_the_key_made_on_first_run_is_private_random_and_kept(tmp_path):
    var = tmp_path / "var"
    path = ensure_key_file(var)
    first = path.read_text().strip()
    assert len(first) >= 50 and oct(path.stat().st_mode & 0o777) == "0o600"
    assert ensure_key_file(var).read_text().strip() == first, "a second run keeps the key (and the sessions)"
    assert secret_key(var) == first
    done = _django(
        "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)", {}, tmp_path
    )
    assert done.returncode == 0 and done.stdout.strip() == first
    os.environ["SECRET_KEY"] = "from-the-environment"
    try:
        assert secret_key(var) == "from-the-environment"
    finally:
        del os.environ["SECRET_KEY"]


def test_check_deploy_is_clean_with_the_documented_production_settings(tmp_path):
    check = (
        "from django.core.management import execute_from_command_line as run; "
        "run(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])"
    )
    clean = _django(check, PRODUCTION, tmp_path)
    assert clean.returncode == 0, clean.stderr + clean.stdout
    assert "no issues" in clean.stdout
    # The same check without the HTTPS switch names what is missing: the test above can fail.
    bare = _django(check, {k: v for k, v in PRODUCTION.items() if k != "HTTPS"}, tmp_path)
    assert bare.returncode != 0
    for code in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert code in bare.stderr + bare.stdout


def test_https_switch_sets_every_setting_and_each_can_be_turned_off(tmp_path):
    show = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_PROXY_SSL_HEADER)"
    )
    key = {"SECRET_KEY": PRODUCTION["SECRET_KEY"]}
    assert _django(show, key, tmp_path).stdout.split() == ["False", "False", "False", "0", "False", "None"]
    on = _django(show, {**key, "HTTPS": "true"}, tmp_path).stdout.strip()
    assert on == "True True True 31536000 True ('HTTP_X_FORWARDED_PROTO', 'https')"
    one_off = _django(show, {**key, "HTTPS": "true", "SECURE_SSL_REDIRECT": "false"}, tmp_path).stdout.split()
    assert one_off[2] == "False" and one_off[0] == "True"
    bad = _django(show, {**key, "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto"}, tmp_path)
    assert bad.returncode != 0 and "X-Forwarded-Proto,https" in bad.stderr


def test_env_header_pair(monkeypatch):
    monkeypatch.setenv("H", "X-Forwarded-Proto, https")
    assert env_header_pair("H") == ("HTTP_X_FORWARDED_PROTO", "https")
    monkeypatch.setenv("H", "")
    assert env_header_pair("H") is None


def test_behind_an_https_proxy_plain_http_is_redirected_and_https_gets_hsts(db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    c = Client()
    plain = c.get("/catalog/")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    secure = c.get("/catalog/", HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 200 and "max-age=31536000" in secure["Strict-Transport-Security"]


class _InlineFinder(HTMLParser):
    """Everything a `script-src 'self'; style-src 'self'` policy would refuse in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self._in_script = True
        if tag == "style":
            self.refused.append("<style> element")
        if "style" in names:
            self.refused.append(f"style attribute on <{tag}>")
        self.refused += [f"{name} handler on <{tag}>" for name in names if name.startswith("on")]
        self.refused += [
            f"javascript: URL on <{tag}>" for _, v in attrs if v and v.strip().lower().startswith("javascript:")
        ]

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.refused.append("inline <script>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def refused_by_csp(html: str) -> list[str]:
    finder = _InlineFinder()
    finder.feed(html)
    return finder.refused


@pytest.fixture
def pages(world):
    from booking.models import Booking
    from facilities.models import RateCard

    RateCard.objects.create(instrument=world.instrument, user_class="external_academic", hourly_rate=100)
    import datetime as dt

    start = dt.datetime(2026, 9, 14, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    complete(book(requester=world.researcher, instrument=world.instrument, start=start))
    assert Booking.objects.exists()
    inst, fac = world.instrument.pk, world.facility.code
    return {
        None: [
            "/",
            "/login/",
            "/catalog/",
            f"/facilities/{fac}/",
            f"/instruments/{inst}/",
            "/search/",
            "/api/v1/docs/",
        ],
        "researcher": ["/me/", f"/instruments/{inst}/", "/search/?instruments=BL1&duration_minutes=60"],
        "manager": ["/console/", "/console/queue/", f"/console/facilities/{fac}/"],
        "finance": ["/finance/", "/finance/runs/", "/finance/?period=2026-09"],
    }


def test_no_page_carries_what_the_content_security_policy_refuses(world, pages):
    for persona, urls in pages.items():
        c = Client()
        if persona:
            c.force_login(getattr(world, persona))
        for url in urls:
            r = c.get(url, follow=True)
            assert r.status_code == 200, (persona, url, r.status_code)
            policy = r["Content-Security-Policy"]
            assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy
            assert refused_by_csp(r.content.decode()) == [], (persona, url)
    # The API docs load their start-up script as a file of the same origin.
    script = Client().get("/api/v1/docs/?script=")
    assert script.status_code == 200 and "javascript" in script["Content-Type"]


def test_the_inline_finder_finds_what_it_looks_for():
    html = '<p style="x" onclick="y"><a href="javascript:z">a</a></p><script>1</script><script src="/s.js"></script>'
    assert len(refused_by_csp(html)) == 4
    assert re.search("inline <script>", " ".join(refused_by_csp(html)))
