"""/ws/availability/: public free/busy of instruments, pushed as it changes. Anonymous welcome."""

import json

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils.translation import gettext as _

from facilities.models import Instrument

from ..hub import Subscription, get_hub
from ..protocol import ProtocolError, Subscribe, Unsubscribe, parse
from ..state import compute_states, instruments_by_id, message_text, render_busy, to_us
from .base import LiveSocket


def _missing(ids: list[int]) -> list[int]:
    found = set(Instrument.objects.filter(pk__in=ids, active=True).values_list("pk", flat=True))
    return [i for i in ids if i not in found]


def _snapshot(ids: list[int], start, end):
    """One trip to the database thread per subscribe: the unknown ids, or the states."""
    instruments = instruments_by_id(ids)
    missing = [i for i in ids if i not in instruments]
    if missing:
        return missing, {}
    return [], compute_states([instruments[i] for i in ids], start, end)


class AvailabilityConsumer(LiveSocket):
    # The hub is this process's one listener on the channel layer; sockets need no channel of their own.
    # No alias names no layer: Channels then gives the consumer none (get_channel_layer returns None).
    channel_layer_alias = None  # type: ignore[assignment]

    async def connect(self):
        self.subscriptions: dict[int, Subscription] = {}
        await self.accept()

    async def cleanup(self) -> None:
        subs = list(getattr(self, "subscriptions", {}).values())
        self.subscriptions = {}
        if subs:
            hub = get_hub()
            for sub in subs:
                await hub.remove(sub)
        await super().cleanup()

    async def handle(self, content: dict) -> None:
        message = parse(content)
        if isinstance(message, Subscribe):
            await self.subscribe(message)
        elif isinstance(message, Unsubscribe):
            await self.unsubscribe(message.instruments)

    async def subscribe(self, message: Subscribe) -> None:
        total = set(self.subscriptions) | set(message.instruments)
        if len(total) > settings.LIVE_MAX_INSTRUMENTS:
            raise ProtocolError(
                _(
                    "Too many instruments: at most %(live_max_instruments)s per connection; "
                    "you would have %(len)s. Unsubscribe from some first."
                )
                % {"live_max_instruments": settings.LIVE_MAX_INSTRUMENTS, "len": len(total)}
            )
        if any(i in self.subscriptions for i in message.instruments):
            # Check before dropping the old windows, so a refused subscribe changes nothing.
            await self.refuse_missing(await database_sync_to_async(_missing)(message.instruments))
        hub = get_hub()
        # A new window replaces the old one. The old subscription goes first: whatever version it last
        # sent was committed before the snapshot below reads the version, so versions never go back.
        for i in message.instruments:
            old = self.subscriptions.pop(i, None)
            if old is not None:
                await hub.remove(old)
        start, end = to_us(message.start), to_us(message.end)
        fresh = [Subscription(self, i, start, end) for i in message.instruments]
        # Listen before reading, so no change can fall between the snapshot and the first update.
        for sub in fresh:
            self.subscriptions[sub.instrument] = sub
            await hub.add(sub)
        key = (tuple(message.instruments), start, end)
        missing, states = await hub.read_snapshot(
            key, lambda: database_sync_to_async(_snapshot)(message.instruments, message.start, message.end)
        )
        if missing:
            for sub in fresh:
                self.subscriptions.pop(sub.instrument, None)
                await hub.remove(sub)
            await self.refuse_missing(missing)
        for sub in fresh:
            state = states.get(sub.instrument)
            if state is None:  # deleted in the meantime
                self.subscriptions.pop(sub.instrument, None)
                await hub.remove(sub)
                continue
            busy_json = render_busy(list(state.spans))
            sub.accept_snapshot(state.version, busy_json)
            await self.send_text(message_text("snapshot", sub.instrument, state.version, busy_json))
            await hub.snapshot_sent(sub)

    async def refuse_missing(self, missing: list[int]) -> None:
        if missing:
            listed = ", ".join(str(i) for i in missing)
            raise ProtocolError(_("No such instrument: %(listed)s. Nothing was subscribed.") % {"listed": listed})

    async def unsubscribe(self, ids: list[int]) -> None:
        hub = get_hub()
        for i in ids:
            sub = self.subscriptions.pop(i, None)
            if sub is not None:
                await hub.remove(sub)
        await self.send_text(json.dumps({"type": "unsubscribed", "instruments": ids}))
