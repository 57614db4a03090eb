"""Putting committed changes onto the channel layer: one small message per change, through the layer's
public API, from whichever process made it (a web request, a Celery worker or beat, a management command,
the admin).

A message says what changed, not how things look now: "instrument 7 is at version 42, the change was at
these times", "booking 9 was approved". The processes that have listeners read the current state
themselves: each ASGI process's hub reads an instrument's busy list once per change, a booking socket
reads the booking it is told about. So the writer does no reads for live updates, and a change nobody
watches costs it one `group_send` to a group without members.

With Redis every ASGI process hears every change. On the embedded default the in-memory layer reaches
only the process that made the change; the hubs' periodic database check covers changes made elsewhere
(docs/decisions/0002-live-updates-across-processes.md).
"""

import asyncio
import logging
import os
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .state import availability_message

log = logging.getLogger(__name__)

# How long sync code waits for a send on the process's own loop before going on without it.
SEND_TIMEOUT_SECONDS = 5.0


def availability_group(instrument_id: int) -> str:
    return f"live.availability.{instrument_id}"


def facility_group(facility_id: int) -> str:
    return f"live.facility.{facility_id}"


def user_group(user_id: int) -> str:
    return f"live.user.{user_id}"


def session_group(user_id: int) -> str:
    """Every signed-in socket of a person, to close them when a session of theirs ends."""
    return f"live.session.{user_id}"


def send(*messages: tuple[str, dict]) -> None:
    """`group_send` each (group, message), in order, from sync code; never raises: the change is committed
    already, and a socket that misses a message is repaired by the hub's database check (availability)
    or was only being notified (booking events)."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return

    async def send_all() -> None:
        for group, message in messages:
            await layer.group_send(group, message)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        # Called from a coroutine (this thread runs an event loop), where async_to_sync refuses to run.
        asyncio.ensure_future(send_all()).add_done_callback(_log_failure)
        return
    try:
        if _own_loop_wanted:
            asyncio.run_coroutine_threadsafe(send_all(), _own_loop()).result(timeout=SEND_TIMEOUT_SECONDS)
        else:
            async_to_sync(send_all)()
    except Exception:
        log.warning("Could not publish a live update to %s", [group for group, _ in messages], exc_info=True)


_own_loop_wanted = False
_own: tuple[int, asyncio.AbstractEventLoop] | None = None
_own_lock = threading.Lock()


def publish_from_own_loop() -> None:
    """For processes that serve no ASGI (WSGI workers, Celery workers), called by their entry points: sync
    code there publishes through one event loop of the process, run in a thread, rather than through the
    fresh event loop async_to_sync starts for every call, so the channel layer keeps its connection from
    one change to the next (about 1.3 ms less per message with Redis; benchmarks/live.py).

    Not for a process that serves ASGI: there async_to_sync hands the send to the server's own loop, which
    is where the in-memory layer's queues live (so it is also the default, and what tests use)."""
    global _own_loop_wanted
    _own_loop_wanted = True


def publish_through_loop(loop: asyncio.AbstractEventLoop) -> None:
    """For an ASGI process whose sync code also runs in threads its server did not start: `make run` hands
    HTTP to Django's WSGI handler in a pool of threads (config/asgi.py), where async_to_sync would find no
    server loop and start one of its own. Sync code there publishes on the server's `loop` instead, where
    the in-memory layer's queues live."""
    global _own, _own_loop_wanted
    with _own_lock:
        _own, _own_loop_wanted = (os.getpid(), loop), True


def _own_loop() -> asyncio.AbstractEventLoop:
    global _own
    with _own_lock:
        if _own is None or _own[0] != os.getpid():  # a forked worker starts a loop of its own
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="live-publish", daemon=True).start()
            _own = (os.getpid(), loop)
        return _own[1]


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("Could not publish a live update", exc_info=task.exception())


def publish_availability(instrument_id: int, version: int, touched: list[tuple[int, int]]) -> None:
    """Announce that the instrument is at `version` (committed), the change being at `touched` (spans in
    microseconds; empty when only the busy list shows where, as for a closure)."""
    send((availability_group(instrument_id), availability_message(instrument_id, version, touched)))


def publish_booking_event(*, booking_id: int, facility_id: int, requester_id: int, event: str) -> None:
    """Tell the facility's managers (/ws/queue/) and the requester (/ws/me/) what happened to a booking;
    their sockets read the booking themselves."""
    message = {
        "type": "live.booking",
        "event": event,
        "booking": booking_id,
        "facility": facility_id,
        "requester": requester_id,
    }
    send((facility_group(facility_id), message), (user_group(requester_id), message))


def publish_session_end(*, user_id: int, session_key: str | None, reason: str) -> None:
    """Close a person's sockets: those of one session (signed out) or all of them (`session_key` None:
    password changed, account deactivated)."""
    send((session_group(user_id), {"type": "live.close", "session_key": session_key, "reason": reason}))


def publish_user_notice(*, user_id: int, kind: str, data: dict) -> None:
    """Tell one signed-in user (/ws/me/) about something that is not a booking, e.g. a proposal decision.
    `data` must be small and meant for that user only; the socket forwards it as
    {"type": "notice", "kind": …, "data": …}. Call it after commit."""
    send((user_group(user_id), {"type": "live.notice", "kind": kind, "data": data, "user": user_id}))
