"""What publishing a committed change costs the process that made it, and the two ways sync code sends."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.layers import get_channel_layer

from booking.live import publish
from booking.live.publish import publish_availability, publish_booking_event


@pytest.fixture(autouse=True)
def in_memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def test_publishing_costs_the_writer_no_read(world, django_assert_num_queries):
    """A change is announced by its instrument, version and place, and a booking event by the booking's
    id: the listeners read what they show, so a change nobody watches costs the writer no query."""
    with django_assert_num_queries(0):
        publish_availability(world.instrument.pk, 7, [(0, 10**6)])
        publish_booking_event(
            booking_id=1, facility_id=world.facility.pk, requester_id=world.researcher.pk, event="requested"
        )


def test_a_process_without_asgi_publishes_through_one_loop_of_its_own(monkeypatch):
    """WSGI and Celery workers send through one event loop kept for the process (so the layer keeps its
    connection), in order, and the same loop serves the next change."""
    monkeypatch.setattr(publish, "_own_loop_wanted", True)
    layer, loop = get_channel_layer(), publish._own_loop()

    def on_loop(coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(5)

    channel = on_loop(layer.new_channel())
    on_loop(layer.group_add("live.test", channel))
    publish.send(("live.test", {"type": "first"}), ("live.test", {"type": "second"}))
    publish.send(("live.test", {"type": "third"}))
    assert [on_loop(layer.receive(channel))["type"] for _ in range(3)] == ["first", "second", "third"]
    assert publish._own_loop() is loop
    on_loop(layer.group_discard("live.test", channel))


def test_threads_of_an_asgi_server_publish_on_the_servers_loop(monkeypatch):
    """`make run` runs HTTP views in a thread pool of its own (config/asgi.py): a change made there
    wakes a socket waiting on the server's loop at once. (Through a loop of async_to_sync's own, the
    in-memory layer's queue would be touched from a foreign thread and the server's loop not woken.)"""
    monkeypatch.setattr(publish, "_own", None)
    monkeypatch.setattr(publish, "_own_loop_wanted", False)
    server_loop = asyncio.new_event_loop()
    thread = threading.Thread(target=server_loop.run_forever, daemon=True)
    thread.start()
    try:
        layer = get_channel_layer()

        def on_loop(coroutine):
            return asyncio.run_coroutine_threadsafe(coroutine, server_loop)

        channel = on_loop(layer.new_channel()).result(5)
        on_loop(layer.group_add("live.test", channel)).result(5)
        waiting = on_loop(layer.receive(channel))  # a socket's consumer, waiting on the server's loop
        publish.publish_through_loop(server_loop)
        with ThreadPoolExecutor(1) as pool:  # a thread the server did not start, as a2wsgi's
            pool.submit(publish.send, ("live.test", {"type": "made.in.a.view"})).result(5)
        assert waiting.result(2)["type"] == "made.in.a.view"
        on_loop(layer.group_discard("live.test", channel)).result(5)
    finally:
        server_loop.call_soon_threadsafe(server_loop.stop)
        thread.join(5)
        server_loop.close()
