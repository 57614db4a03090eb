"""`make run`'s server, the real process: HTTP and WebSockets on one port, and request bodies above the
limit refused before they are read. (Memory under oversized bodies: benchmarks/serving.py.)"""

import asyncio
import datetime as dt
import json
import re
import socket
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from .servers import ROOT, MakeRunServer

pytestmark = [pytest.mark.slow]
H = dt.timedelta(hours=1)
POST_HEAD = "POST /api/v1/bookings/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"


def test_make_run_serves_with_the_server_these_tests_start():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("serve", "run"):
        recipe = re.search(rf"^{target}:.*?(?=^\S)", makefile, re.M | re.S).group(0)
        assert "$(BIN)/python -m config.serve --host $(HOST) --port $(PORT)" in recipe, recipe


@pytest.fixture
def server(transactional_db):
    s = MakeRunServer().wait_ready()
    yield s
    s.stop()


def raw_request(port: int, head: str, body: bytes = b"") -> tuple[int, dict, bytes]:
    """Send a request head (and maybe the start of a body); read the whole answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + b"\r\n\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    headers_text, _, content = rest.partition(b"\r\n\r\n")
    headers = dict(line.decode().lower().split(": ", 1) for line in headers_text.split(b"\r\n"))
    return int(status_line.split()[1]), headers, content


def test_a_body_above_the_limit_is_refused_unread(server):
    declared = 200 * 1024 * 1024
    status, headers, content = raw_request(
        server.port,
        f"{POST_HEAD}\r\nContent-Length: {declared}",
        b"{" + b" " * 4096,  # the start of the body; the rest is never sent, and the answer comes anyway
    )
    assert status == 413
    assert headers["connection"] == "close"
    detail = json.loads(content)["detail"]
    assert f"{declared} bytes" in detail and f"at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes" in detail


def test_a_chunked_body_is_refused_unread(server):
    status, _, content = raw_request(
        server.port,
        f"{POST_HEAD}\r\nTransfer-Encoding: chunked",
        b"1000\r\n" + b" " * 4096 + b"\r\n",  # one chunk of many announced; the last one never comes
    )
    assert status == 411
    assert "Content-Length" in json.loads(content)["detail"]


def test_static_files_and_pages_are_served(server):
    page = httpx.get(f"{server.http}/catalog/", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    script = next(Path(ROOT).glob("frontend/static/**/*.js"))
    static = httpx.get(f"{server.http}/static/{script.relative_to(ROOT / 'frontend/static').as_posix()}", timeout=10)
    assert static.status_code == 200 and static.content == script.read_bytes()


def test_websockets_share_the_port_and_the_body_limit(server, world, tomorrow_9):
    """A socket on the HTTP port subscribes and gets its snapshot (a change posted over HTTP reaching it:
    test_live_processes); a frame above the body limit closes the socket (1009) instead of being read."""
    import websockets

    inst = world.instrument

    async def scenario():
        async with websockets.connect(server.ws("/ws/availability/"), origin=server.origin, open_timeout=10) as ws:
            window = {"start": tomorrow_9.isoformat(), "end": (tomorrow_9 + 4 * H).isoformat()}
            await ws.send(json.dumps({"type": "subscribe", "instruments": [inst.pk], **window}))
            snap = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert (snap["type"], snap["instrument"], snap["busy"]) == ("snapshot", inst.pk, [])

            await ws.send("x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd.code == 1009

    asyncio.run(scenario())
