"""Real server processes for tests: the database they share with the test, and `make run`'s server."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from django.conf import settings as django_settings

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The test database as a DATABASE_URL, so that a server process uses what the test wrote."""
    db = django_settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MakeRunServer:
    """`make run`'s server (`python -m config.serve`, the command the Makefile runs) on a free 127.0.0.1
    port and the test database, with `env` (by default this environment without Redis, as the embedded
    default has none). `timeout` ends it even if pytest dies."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.http = f"http://127.0.0.1:{self.port}"
        if env is None:
            env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
            env.update(DATABASE_URL=database_url(), DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="WARNING")
        self.proc = subprocess.Popen(
            ["timeout", "300", sys.executable, "-m", "config.serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def ws(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    @property
    def origin(self) -> str:
        """What a page served by this server sends as Origin: sockets accept only their own origin."""
        return self.http

    def wait_ready(self) -> "MakeRunServer":
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{self.http}/api/v1/facilities/", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError("the server did not answer within 60 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
