"""What oversized request bodies cost the server's memory, for each way the platform is served.

    .venv/bin/python benchmarks/serving.py [--mb 200] [--parallel 4] [--daphne]

For `make run`'s server (`python -m config.serve`) and for gunicorn (config.wsgi, 2 workers, as the
Procfile's `web` runs it), each on a throw-away SQLite database and a free 127.0.0.1 port: warm the
server up with a few ordinary requests, read its resident memory (RSS, summed over its processes), send
`--parallel` POSTs of `--mb` MB each at once, with a Content-Length and then again chunked without
one, and read the memory again. Prints each answer's status and words, and the growth beside the
target (at most +50 MB). `--daphne` adds daphne serving config.asgi, which this layout keeps for /ws/
only, behind a proxy, to show why.

The bodies are streamed from one 1 MB buffer, so the client itself stays small; a client stops sending
as soon as the answer arrives. Everything goes to 127.0.0.1 and every wait is bounded.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MB = 50
CHUNK = b"\0" * (1 << 20)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    total, pids = 0, [pid]
    while pids:
        current = pids.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:  # gone meanwhile
            continue
        total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        pids += [int(c) for c in children]
    return total / 1024


def answered(raw: bytes) -> bool:
    """Whether `raw` holds a whole HTTP answer (by its Content-Length, or its last chunk)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.lower().split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip() == b"content-length":
            return len(body) >= int(value)
    return body.endswith(b"0\r\n\r\n")


def post(port: int, megabytes: int, chunked: bool) -> tuple[str, float, int]:
    """POST a large body from one thread while another reads the answer, as an HTTP client does that
    stops sending once the server has answered. (status line and words, seconds, MB sent)."""
    began = time.perf_counter()
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {megabytes << 20}"
    sock.sendall(
        f"POST /api/v1/bookings/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{framing}\r\n\r\n".encode()
    )
    sent = 0
    stop = threading.Event()

    def send_body() -> None:
        nonlocal sent
        piece = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n" if chunked else CHUNK
        try:
            for _ in range(megabytes):
                if stop.is_set():
                    return
                sock.sendall(piece)
                sent += 1
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server closed the connection after answering
            pass

    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    raw = b""
    try:
        while not answered(raw):
            data = sock.recv(65536)
            if not data:
                break
            raw += data
    except OSError as exc:
        raw = raw or f"no answer ({type(exc).__name__})".encode()
    stop.set()
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sender.join(30)
    sock.close()
    head, _, body = raw.decode("latin-1").partition("\r\n\r\n")
    return f"{head.splitlines()[0] if head else '(nothing)'} {body.strip()[:110]}", time.perf_counter() - began, sent


def wait_until_up(proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited before answering")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(b"GET /api/v1/facilities/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if s.recv(12).endswith(b"200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer within 60 s")


def warm_up(port: int) -> None:
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /api/v1/facilities/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            while s.recv(65536):
                pass


def measure(name: str, command: list[str], env: dict, args) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [c.format(port=port) for c in command],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(proc, port)
        warm_up(port)
        time.sleep(1)
        before = rss_mb(proc.pid)
        print(f"{name}: RSS {before:.0f} MB after warming up")
        for chunked in (False, True):
            with ThreadPoolExecutor(args.parallel) as pool:
                results = list(
                    pool.map(post, [port] * args.parallel, [args.mb] * args.parallel, [chunked] * args.parallel)
                )
            time.sleep(1)
            after = rss_mb(proc.pid)
            growth = after - before
            kind = "chunked, no length" if chunked else "with Content-Length"
            print(
                f"  {args.parallel} parallel POSTs of {args.mb} MB, {kind}: RSS {after:.0f} MB, "
                f"{growth:+.0f} MB against the start (target at most +{TARGET_MB}: "
                f"{'met' if growth <= TARGET_MB else 'NOT MET'})"
            )
            for answer, took, sent in results:
                print(f"    {answer}  ({took:.2f} s, {sent} MB sent)")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200, help="size of each body in MB")
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument(
        "--daphne", action="store_true", help="also measure daphne serving HTTP (not how it is deployed)"
    )
    args = parser.parse_args()
    if not 1 <= args.mb <= 2000 or not 1 <= args.parallel <= 16:
        parser.error("--mb must be 1..2000 and --parallel 1..16")

    scratch = tempfile.mkdtemp(prefix="sanjiao-bench-serving-")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="WARNING", SANJIAO_VAR_DIR=scratch)
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=600
        )
        bin_dir = Path(sys.executable).parent
        servers = [
            (
                "make run's server (python -m config.serve: uvicorn, HTTP through the WSGI handler)",
                [sys.executable, "-m", "config.serve", "--host", "127.0.0.1", "--port", "{port}"],
            ),
            (
                "gunicorn, 2 workers (config.wsgi, the Procfile's web)",
                [str(bin_dir / "gunicorn"), "config.wsgi:application", "-w", "2", "-b", "127.0.0.1:{port}"],
            ),
        ]
        if args.daphne:
            servers.append(
                (
                    "daphne serving HTTP (config.asgi; deployed for /ws/ only)",
                    [str(bin_dir / "daphne"), "-b", "127.0.0.1", "-p", "{port}", "config.asgi:application"],
                )
            )
        for name, command in servers:
            measure(name, command, env, args)
    finally:
        subprocess.run(["rm", "-rf", scratch], check=False)


if __name__ == "__main__":
    main()
