"""One hub per ASGI process (per event loop): the only listener on the channel layer for availability.

Why not one channel-layer group member per connection: with thousands of sockets on one instrument,
the layer would copy and decode every change once per socket. The hub joins each instrument's group
once, reads the instrument's busy list once per change, renders each distinct subscriber window once,
and writes the ready text to every socket.

How the hub hears of a change:
- a message on the channel layer (booking/live/publish.py): "instrument 7 is at version 42, the change
  was at these times". With Redis it comes from whichever process made the change; the in-memory layer
  only carries changes made in this process.
- its database check: every LIVE_RESYNC_SECONDS it reads the versions of the instruments its sockets
  watch. A version ahead of a socket is a change whose message did not come: made by another process on
  the in-memory layer, or lost on the way. Where that change happened is unknown, so every socket of the
  instrument is sent the new state.
Either way the hub then reads the busy list itself, once; changes heard while it reads are served
together by the next read.

Guarantees the hub keeps:
- versions sent on one socket for one instrument only go up (stale and duplicate messages dropped);
- a socket gets an update when the change touches its window (the booking's span overlaps it, the
  busy list it sees changed, or where the change happened is unknown), never a busy list older than one
  it already has.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from channels.db import database_sync_to_async
from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings

from .publish import availability_group
from .state import (
    State,
    clip,
    current_versions,
    message_text,
    render_busy,
    touched_from_message,
    touches,
    wide_state,
    window_state,
)

Touched = list[tuple[int, int]] | None  # where a change happened (microseconds); None: unknown

log = logging.getLogger(__name__)


class Socket(Protocol):
    async def send_text(self, text: str) -> None: ...


@dataclass(eq=False)
class Subscription:
    """One socket's interest in one instrument over [start, end) (microseconds)."""

    consumer: Socket
    instrument: int
    start: int
    end: int
    version: int | None = None  # None until its snapshot went out
    busy_json: str | None = None
    pending: list = field(default_factory=list)  # changes heard before the snapshot went out

    def accept_snapshot(self, version: int, busy_json: str) -> None:
        self.version, self.busy_json = version, busy_json


class Hub:
    def __init__(self) -> None:
        self.subs: dict[int, set[Subscription]] = defaultdict(set)
        self.dispatched: dict[int, int] = {}  # newest version handed to sockets, per instrument
        # Changes heard and not yet read, per instrument, and the task reading them.
        self.heard: dict[int, list[tuple[int, Touched]]] = {}
        self.readers: dict[int, asyncio.Task] = {}
        # The newest state handed out per instrument: a socket whose snapshot turns out older gets it.
        self.latest: dict[int, tuple[State, object]] = {}
        # Snapshot reads in flight, shared by sockets asking for the same instruments and window.
        self.reads: dict[tuple, asyncio.Future] = {}
        self.listening: tuple[BaseChannelLayer, str] | None = None  # the layer and the hub's channel on it
        self.tasks: list[asyncio.Task] = []
        self.lock = asyncio.Lock()

    # --- membership ----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self.tasks)

    async def add(self, sub: Subscription) -> None:
        async with self.lock:
            if not self.running:
                await self._start()
            first = not self.subs.get(sub.instrument)
            self.subs[sub.instrument].add(sub)
            if first and self.listening is not None:
                layer, channel = self.listening
                await layer.group_add(availability_group(sub.instrument), channel)

    async def remove(self, sub: Subscription) -> None:
        async with self.lock:
            subs = self.subs.get(sub.instrument)
            if not subs or sub not in subs:
                return
            subs.discard(sub)
            if not subs:
                del self.subs[sub.instrument]
                self.dispatched.pop(sub.instrument, None)
                self.heard.pop(sub.instrument, None)
                self.latest.pop(sub.instrument, None)
                if self.listening is not None:
                    layer, channel = self.listening
                    await layer.group_discard(availability_group(sub.instrument), channel)
            if not self.subs:
                await self._stop()

    async def _start(self) -> None:
        layer = get_channel_layer()
        if layer is not None:
            self.listening = (layer, await layer.new_channel())
            self.tasks.append(asyncio.ensure_future(self._receive_loop(*self.listening)))
        self.tasks.append(asyncio.ensure_future(self._resync_loop()))

    async def _stop(self) -> None:
        tasks, self.tasks = self.tasks + list(self.readers.values()), []
        self.heard, self.readers = {}, {}
        current = asyncio.current_task()
        for task in tasks:
            if task is not current:
                task.cancel()
        for task in tasks:
            if task is not current:
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        self.listening = None

    def groups(self) -> list[str]:
        return [availability_group(i) for i in self.subs]

    # --- hearing changes ------------------------------------------------------------------------------

    async def _receive_loop(self, layer: BaseChannelLayer, channel: str) -> None:
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The layer is down (Redis restarting): keep listening; resync covers the gap.
                log.warning("Live updates: channel layer receive failed; retrying", exc_info=True)
                await asyncio.sleep(1)
                continue
            try:
                await self.on_message(message)
            except Exception:
                log.exception("Live update could not be delivered")

    async def on_message(self, message: dict) -> None:
        if message.get("type") != "live.availability":
            return
        if message["version"] <= self.dispatched.get(message["instrument"], 0):
            return  # an older or repeated change: the sockets already have something newer
        self.hear(message["instrument"], message["version"], touched_from_message(message))

    def hear(self, instrument: int, version: int, touched: Touched) -> None:
        """Note a committed change; the instrument's reader reads the state and hands it out."""
        if not self.subs.get(instrument):
            return
        self.heard.setdefault(instrument, []).append((version, touched))
        if instrument not in self.readers:
            task = asyncio.ensure_future(self._read_and_dispatch(instrument))
            self.readers[instrument] = task
            task.add_done_callback(_log_failure)

    async def _read_and_dispatch(self, instrument: int) -> None:
        try:
            while self.heard.get(instrument):
                changes = self.heard.pop(instrument)
                version = max(v for v, _ in changes)
                if not any(s.version is None or s.version < version for s in self.subs.get(instrument, ())):
                    continue  # every socket has it already
                try:
                    state = await self.read_state(instrument)
                except Exception:
                    # The database check finds the sockets behind and tries again.
                    log.warning("Could not read the live state of instrument %s", instrument, exc_info=True)
                    continue
                if state is None or not self.subs.get(instrument):
                    continue
                # Read after `version` committed, so at least that new. Labelled with `version`, not with
                # what the read found, so that a later change heard after this read is still handed out
                # (with where it happened) rather than dropped as already seen.
                await self.dispatch(replace(state, version=version), _union(t for _, t in changes))
        finally:
            self.readers.pop(instrument, None)

    async def read_state(self, instrument: int) -> State | None:
        return await database_sync_to_async(wide_state)(instrument)

    async def dispatch(self, state: State, touched) -> None:
        self.dispatched[state.instrument] = max(state.version, self.dispatched.get(state.instrument, 0))
        if state.version > self.latest.get(state.instrument, (State(0, 0, 0, 0, ()), None))[0].version:
            self.latest[state.instrument] = (state, touched)
        rendered: dict[tuple[int, int], tuple[str, str, bool]] = {}
        uncovered: dict[tuple[int, int], list[Subscription]] = defaultdict(list)
        for sub in list(self.subs.get(state.instrument, ())):
            if sub.version is None:
                sub.pending.append((state, touched))
                continue
            if state.version <= sub.version:
                continue
            key = (sub.start, sub.end)
            if not state.covers(*key):
                uncovered[key].append(sub)
                continue
            if key not in rendered:
                busy_json = render_busy(clip(state, *key))
                rendered[key] = (
                    busy_json,
                    message_text("update", state.instrument, state.version, busy_json),
                    touches(touched, *key),
                )
            await self._offer(sub, state.version, *rendered[key])
        if uncovered:
            task = asyncio.ensure_future(self._fallback(state.instrument, state.version, touched, uncovered))
            task.add_done_callback(_log_failure)

    async def _fallback(self, instrument: int, version: int, touched, groups) -> None:
        """Subscribers outside the published window: one query per distinct window, not per socket."""
        for (start, end), subs in groups.items():
            state = await database_sync_to_async(window_state)(instrument, start, end)
            if state is None:
                continue
            busy_json = render_busy(list(state.spans))
            text = message_text("update", instrument, version, busy_json)
            hit = touches(touched, start, end)
            for sub in subs:
                if sub.version is not None and version > sub.version and sub in self.subs.get(instrument, ()):
                    await self._offer(sub, version, busy_json, text, hit)

    async def _offer(self, sub: Subscription, version: int, busy_json: str, text: str, touched: bool) -> None:
        changed = busy_json != sub.busy_json
        sub.version = version
        if touched or changed:
            sub.busy_json = busy_json
            try:
                await sub.consumer.send_text(text)
            except Exception:
                log.warning("Could not send a live update to a socket", exc_info=True)

    async def snapshot_sent(self, sub: Subscription) -> None:
        """The socket has its snapshot: hand it whatever changes arrived meanwhile, newest wins."""
        pending, sub.pending = sub.pending, []
        if sub.instrument in self.latest:
            # A shared snapshot read may have started before this socket listened; what was handed out
            # since then is here.
            pending.append(self.latest[sub.instrument])
        for state, touched in sorted(pending, key=lambda p: p[0].version):
            if state.version <= sub.version:
                continue
            key = (sub.start, sub.end)
            if state.covers(*key):
                busy_json = render_busy(clip(state, *key))
                text = message_text("update", state.instrument, state.version, busy_json)
                await self._offer(sub, state.version, busy_json, text, touches(touched, *key))
            else:
                await self._fallback(state.instrument, state.version, touched, {key: [sub]})

    async def read_snapshot(self, key: tuple, read):
        """Run `read()` (a coroutine function) once for every socket asking for `key` meanwhile: a
        reconnect storm of thousands of clients watching the same week costs a handful of reads."""
        future = self.reads.get(key)
        if future is None:
            future = self.reads[key] = asyncio.get_running_loop().create_future()
            try:
                future.set_result(await read())
            except asyncio.CancelledError:
                future.cancel()  # this socket went away mid-read; the others read again below
                raise
            except Exception as exc:
                future.set_exception(exc)
                future.exception()  # retrieved here, so a read nobody else shared does not warn
            finally:
                del self.reads[key]
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if future.cancelled() and task is not None and not task.cancelling():
                return await read()
            raise

    # --- the database check: changes whose message did not come ----------------------------------------

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(max(settings.LIVE_RESYNC_SECONDS, 0.01))
            try:
                await self.resync()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("Live database check failed; will try again", exc_info=True)

    async def resync(self) -> None:
        """One indexed read of the watched instruments' versions: any socket behind its instrument's
        version missed a change (made by another process on the in-memory layer, or a lost message)."""
        ids = [i for i, subs in self.subs.items() if subs]
        if not ids:
            return
        if self.listening is not None:
            # The in-memory layer forgets group members after a day; joining again is harmless elsewhere.
            layer, channel = self.listening
            for i in ids:
                await layer.group_add(availability_group(i), channel)
        versions = await database_sync_to_async(current_versions)(ids)
        for i in ids:
            db_version = versions.get(i)
            have = [s.version for s in self.subs.get(i, ()) if s.version is not None]
            if db_version is not None and have and min(have) < db_version:
                self.hear(i, db_version, None)


def _union(touched: Iterable[Touched]) -> Touched:
    out: list[tuple[int, int]] = []
    for spans in touched:
        if spans is None:
            return None
        out += spans
    return out


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("A live update could not be delivered", exc_info=task.exception())


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def get_hub() -> Hub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        for old in [lp for lp in _hubs if lp.is_closed()]:
            del _hubs[old]
        hub = _hubs[loop] = Hub()
    return hub
