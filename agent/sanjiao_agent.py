#!/usr/bin/env python3
"""Sanjiao usage agent: reports an instrument's use to Sanjiao from the instrument PC or an interlock.

Python 3.9+ and its standard library only, on Windows or Linux. Every event is first written to a queue
directory on disk and then sent, signed with the instrument's key, in order; while the server cannot be
reached the events wait on disk and go out with the next command (or the next heartbeat of `run`).
Each event has its own id, so sending one twice changes nothing on the server.

    sanjiao_agent.py --server https://sanjiao.example --instrument 42 start [--user wei.zhang]
    sanjiao_agent.py ... heartbeat
    sanjiao_agent.py ... stop
    sanjiao_agent.py ... run --interval 60      # start, a heartbeat every minute, stop on Ctrl+C / SIGTERM
    sanjiao_agent.py ... flush                  # send whatever is queued

The key is read from --key-file or the SANJIAO_AGENT_KEY environment variable (never from the command
line, where other users of the PC could see it). The queue is --queue, by default
~/.sanjiao-agent/<instrument>/. Exit status: 0 when everything queued was delivered, 3 when some events
are still queued (the server was unreachable), 2 on a refusal (bad key, clock far off, bad event).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

BATCH = 100
TIMEOUT_SECONDS = 15


class Refused(Exception):
    """The server answered, and said no: retrying the same request will not help."""


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")  # noqa: UP017  (Python 3.9 on instrument PCs)


def sign(key: str, timestamp: str, body: bytes) -> str:
    return hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class Queue:
    """Events as one JSON file each, named so that sorting the names sorts them by time of queueing.
    A file is written under a temporary name and renamed, so a crash never leaves half an event."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "rejected").mkdir(exist_ok=True)

    def put(self, kind: str, user: str = "") -> dict:
        event = {"id": uuid.uuid4().hex, "type": kind, "at": now_iso()}
        if user:
            event["user"] = user
        name = f"{time.time_ns():020d}-{event['id']}.json"
        tmp = self.dir / (name + ".tmp")
        tmp.write_text(json.dumps(event), encoding="utf-8")
        os.replace(tmp, self.dir / name)
        return event

    def pending(self) -> list[Path]:
        return sorted(self.dir.glob("*.json"))

    def reject(self, paths: list[Path]) -> None:
        for p in paths:
            os.replace(p, self.dir / "rejected" / p.name)


class Agent:
    def __init__(self, server: str, instrument: int, key: str, queue: Queue) -> None:
        self.url = f"{server.rstrip('/')}/api/v1/instruments/{instrument}/usage/agent-events/"
        self.key = key
        self.queue = queue

    def post(self, events: list[dict]) -> dict:
        body = json.dumps({"nonce": uuid.uuid4().hex, "events": events}, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Sanjiao-Timestamp": timestamp,
                "X-Sanjiao-Signature": sign(self.key, timestamp, body),
                "User-Agent": "sanjiao-agent/1",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
                return json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            if exc.code in (400, 403, 404, 413):
                raise Refused(f"{exc.code}: {detail}") from None
            raise OSError(f"server error {exc.code}: {detail}") from None

    def flush(self) -> int:
        """Send queued events oldest first; returns how many are still queued. A network failure stops
        here (the rest waits); a refused batch of well-formed events stops too (a key or clock problem
        to fix), while a batch the server calls malformed is set aside under rejected/."""
        while True:
            paths = self.queue.pending()[:BATCH]
            if not paths:
                return 0
            events = []
            for p in paths:
                try:
                    events.append(json.loads(p.read_text(encoding="utf-8")))
                except (OSError, ValueError):
                    self.queue.reject([p])
                    break
            else:
                try:
                    self.post(events)
                except OSError as exc:  # unreachable, timed out, 5xx: keep everything for later
                    print(
                        f"sanjiao-agent: server unreachable ({exc}); {len(self.queue.pending())} queued",
                        file=sys.stderr,
                    )
                    return len(self.queue.pending())
                except Refused as exc:
                    if str(exc).startswith("400"):
                        self.queue.reject(paths)
                        print(f"sanjiao-agent: events set aside: {exc}", file=sys.stderr)
                        continue
                    raise
                for p in paths:
                    p.unlink(missing_ok=True)


def read_key(args) -> str:
    if args.key_file:
        return Path(args.key_file).read_text(encoding="utf-8").strip()
    key = os.environ.get("SANJIAO_AGENT_KEY", "").strip()
    if not key:
        raise SystemExit("sanjiao-agent: give --key-file or set SANJIAO_AGENT_KEY")
    return key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Report an instrument's use to Sanjiao.")
    parser.add_argument("--server", required=True, help="e.g. https://sanjiao.example")
    parser.add_argument("--instrument", required=True, type=int, help="the instrument's id in Sanjiao")
    parser.add_argument("--key-file", help="file holding the instrument's agent key")
    parser.add_argument("--queue", help="queue directory (default ~/.sanjiao-agent/<instrument>)")
    parser.add_argument("--user", default="", help="Sanjiao username of who uses the instrument, if known")
    parser.add_argument("command", choices=["start", "heartbeat", "stop", "flush", "run"])
    parser.add_argument("--interval", type=float, default=60.0, help="run: seconds between heartbeats")
    args = parser.parse_args(argv)

    queue = Queue(Path(args.queue) if args.queue else Path.home() / ".sanjiao-agent" / str(args.instrument))
    agent = Agent(args.server, args.instrument, read_key(args), queue)
    try:
        if args.command in ("start", "heartbeat", "stop"):
            queue.put(args.command, args.user)
        elif args.command == "run":
            return run(agent, queue, args.user, args.interval)
        return 3 if agent.flush() else 0
    except Refused as exc:
        print(f"sanjiao-agent: refused: {exc}", file=sys.stderr)
        return 2


def run(agent: Agent, queue: Queue, user: str, interval: float) -> int:
    stopping = []
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    queue.put("start", user)
    agent.flush()
    next_beat = time.monotonic() + interval
    while not stopping:
        time.sleep(min(0.2, max(0.0, next_beat - time.monotonic())))
        if time.monotonic() >= next_beat:
            queue.put("heartbeat", user)
            agent.flush()
            next_beat += interval
    queue.put("stop", user)
    return 3 if agent.flush() else 0


if __name__ == "__main__":
    sys.exit(main())
