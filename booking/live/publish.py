"""Putting committed changes onto the channel layer, once per change whatever the number of clients.

Runs wherever the change was made: a request thread (WSGI or ASGI), a Celery worker, a management
command. With Redis the layer is pub/sub, so every ASGI process that has clients for the instrument
hears it; on the embedded default the in-memory layer reaches the clients of this process only.
"""

import asyncio
import logging
import os
import threading

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer

from ..models import Booking
from ..selectors import booking_fields, with_details
from .state import State, wide_state

log = logging.getLogger(__name__)


def availability_group(instrument_id: int) -> str:
    return f"live.availability.{instrument_id}"


def facility_group(facility_id: int) -> str:
    return f"live.facility.{facility_id}"


def user_group(user_id: int) -> str:
    return f"live.user.{user_id}"


def group_send(group: str, message: dict) -> None:
    """Send from sync code, whether or not this thread runs an event loop; never raises (the change is
    committed already, and a client that misses a message catches up through versions and resync)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            # Called straight from async code: async_to_sync would refuse to run here.
            task = loop.create_task(layer.group_send(group, message))
            task.add_done_callback(_log_failure)
        elif not _publish_sync(layer, group, message):
            async_to_sync(layer.group_send)(group, message)
    except Exception:
        log.warning("Could not publish a live update to %s", group, exc_info=True)


_sync_clients: dict[str, redis.Redis] = {}
_recent = threading.local()


def _sync_redis(layer) -> tuple[redis.Redis, str] | None:
    """A plain, reused Redis connection to the pub/sub layer's one host and its group-channel prefix
    (channels_redis 4), or None for any other layer."""
    if type(layer) is not RedisPubSubChannelLayer or len(layer._kwargs.get("hosts") or ()) != 1:
        return None
    host = layer._kwargs["hosts"][0]
    address = host if isinstance(host, str) else host.get("address")
    if not isinstance(address, str):
        return None
    key = f"{os.getpid()}:{address}"  # a forked worker must not share its parent's socket
    client = _sync_clients.get(key)
    if client is None:
        client = _sync_clients[key] = redis.Redis.from_url(address)
    return client, f"{layer._kwargs.get('prefix', 'asgi')}__group__"


def _publish_sync(layer, group: str, message: dict) -> bool:
    """The Redis pub/sub layer's group_send, done with a plain, reused Redis connection.

    From sync code (a worker, a WSGI request) async_to_sync would start an event loop and a fresh Redis
    connection for every change; this does the same PUBLISH the layer does (its group channel name and
    serializer) on one connection per process. Other layers return False."""
    found = _sync_redis(layer)
    if found is None:
        return False
    client, prefix = found
    client.publish(f"{prefix}{group}", layer.serialize(message))
    return True


def listened(groups: list[str]) -> list[str]:
    """The groups among `groups` that some process listens to now, so that a change nobody watches
    costs no reads. With the Redis pub/sub layer that is one PUBSUB NUMSUB; with any other layer, or
    from async code, or when Redis cannot say, every group counts as listened to.

    A listener that subscribes at this very moment loses nothing: the hub reads its snapshot after
    subscribing, so the snapshot already holds any change committed before the count was taken (and
    the hub's periodic resync repairs whatever else a listener misses)."""
    try:
        asyncio.get_running_loop()
        return groups
    except RuntimeError:
        pass
    try:
        found = _sync_redis(get_channel_layer())
        if found is None:
            return groups
        client, prefix = found
        counts = {
            (name.decode() if isinstance(name, bytes) else name): count
            for name, count in client.pubsub_numsub(*(f"{prefix}{g}" for g in groups))
        }
    except Exception:
        log.warning("Could not count the listeners of %s", groups, exc_info=True)
        return groups
    return [g for g in groups if counts.get(f"{prefix}{g}", 0)]


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("Could not publish a live update", exc_info=task.exception())


def publish_availability(instrument_id: int, version: int, touched: list[tuple[int, int]] | None) -> State | None:
    """Compute the instrument's wide busy state once and publish it labelled with `version`.

    The label is the version the change produced, not a fresh read: the state is read after that
    version committed, so it is at least that new, and each version is published exactly once.
    Nothing is computed when no process listens to the instrument."""
    if not listened([availability_group(instrument_id)]):
        return None
    try:
        state = wide_state(instrument_id)
    except Exception:
        log.warning("Could not compute the live state of instrument %s", instrument_id, exc_info=True)
        return None
    if state is None:
        return None
    state = State(state.instrument, version, state.start, state.end, state.spans)
    group_send(availability_group(instrument_id), state.to_message(touched))
    return state


def _once_per_change(what: str, booking_id: int, version: tuple | None, compute, *extra):
    """compute(), or the answer it gave for the same booking, version and `extra` when that was the
    last `what` asked for in this thread. A booking approved on creation announces `requested` and
    `approved` back to back, and both events of that one committed change need the same reads.
    `version` is (status, sequence) as committed; without it compute() runs every time."""
    key = (booking_id, version, *extra)
    last = getattr(_recent, what, None)
    if version is not None and last is not None and last[0] == key:
        return last[1]
    answer = compute()
    setattr(_recent, what, (key, answer) if version is not None else None)
    return answer


def _listeners(booking_id: int, version: tuple | None, groups: list[str]) -> list[str]:
    """`listened(groups)`, counted once for the events of one committed change. Reusing the count is
    safe: a listener that subscribed since then read its snapshot after that change had committed, so
    it already has what the other events of that change would bring."""
    return _once_per_change("listeners", booking_id, version, lambda: listened(groups), tuple(groups))


def _payload(booking_id: int, version: tuple | None) -> dict | None:
    """The booking's payload, read once for the events of one committed change."""

    def read() -> dict | None:
        booking = with_details(Booking.objects.filter(pk=booking_id)).first()
        # Only its requester and the facility's managers hear it, so the purpose is shown.
        return None if booking is None else booking_fields(booking, show_purpose=True)

    return _once_per_change("payload", booking_id, version, read)


def publish_booking_event(
    *, booking_id: int, facility_id: int, requester_id: int, event: str, version: tuple | None = None
) -> None:
    """Tell the facility's managers (/ws/queue/) and the requester (/ws/me/) what happened to a booking."""
    groups = _listeners(booking_id, version, [facility_group(facility_id), user_group(requester_id)])
    if not groups:
        return
    try:
        payload = _payload(booking_id, version)
    except Exception:
        log.warning("Could not read booking %s for a live update", booking_id, exc_info=True)
        return
    if payload is None:
        return
    message = {
        "type": "live.booking",
        "event": event,
        "facility": facility_id,
        "requester": requester_id,
        "booking": payload,
    }
    for group in groups:
        group_send(group, message)
