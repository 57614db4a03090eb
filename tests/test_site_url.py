"""Links in mail and calendar feeds point where the site is served: unset, SITE_URL follows the address
`make run` (config/serve.py) listens on; set, it wins."""

import os
import socket
import subprocess
import sys

import pytest

from config.env import serving_url

from .servers import ROOT


@pytest.mark.parametrize(
    "host, port, url",
    [
        ("127.0.0.1", 8200, "http://127.0.0.1:8200"),
        ("0.0.0.0", 8000, "http://127.0.0.1:8000"),
        ("::", 9000, "http://127.0.0.1:9000"),
        ("lab.example.cn", 80, "http://lab.example.cn:80"),
        ("::1", 8200, "http://[::1]:8200"),
    ],
)
def test_the_serving_address_as_the_start_of_links(host, port, url):
    assert serving_url(host, port) == url


def _settings_site_url(**env) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "HOST", "PORT")}
    code = "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup(); "
    code += "from django.conf import settings; print(settings.SITE_URL)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_site_url_follows_host_and_port_unless_set():
    assert _settings_site_url() == "http://127.0.0.1:8000"
    assert _settings_site_url(PORT="8200") == "http://127.0.0.1:8200"
    assert _settings_site_url(PORT="8200", SITE_URL="https://sanjiao.example.cn") == "https://sanjiao.example.cn"


def test_make_run_server_says_where_links_point_and_uses_its_own_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    clean = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "HOST", "PORT", "DATABASE_URL", "REDIS_URL")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "config.serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert first.strip() == f"Links in mail and calendar feeds start at http://127.0.0.1:{port} (SITE_URL)"
