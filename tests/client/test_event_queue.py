"""The ``messages()`` queue: a lock-free producer, a consumer woken when it waits (issue 6)."""

from __future__ import annotations

import threading
import time
from typing import Any

from pmsync.client import _EventQueue
from pmsync.codec import Event


def event(i: int) -> Event:
    return Event("heartbeat", None, None, i, "")


def test_drops_oldest_and_counts_drops() -> None:
    queue = _EventQueue(3)
    queue.in_use = True
    drops = [queue.put(event(i)) for i in range(6)]
    assert drops == [False, False, False, True, True, True]
    assert queue.dropped == 3
    assert [queue.get(0).data for _ in range(3)] == [3, 4, 5]  # type: ignore[union-attr]
    assert queue.get(0) is None
    queue.put(event(6))
    assert [queue.put(event(i)) for i in range(7, 10)] == [False, False, True]


def test_size_zero_keeps_nothing() -> None:
    queue = _EventQueue(0)
    assert queue.put(event(1)) is False
    assert queue.get(0) is None


def test_a_waiting_consumer_gets_every_event_put_after_it_waits() -> None:
    queue = _EventQueue(1_000_000)
    received: list[Any] = []

    def consume() -> None:
        while True:
            item = queue.get(5.0)
            if item is None:
                return
            received.append(item.data)

    consumer = threading.Thread(target=consume, name="queue-consumer")
    consumer.start()
    try:
        for i in range(20_000):
            queue.put(event(i))
            if i % 1000 == 0:
                time.sleep(0.001)  # let the consumer catch up and wait again
        deadline = time.monotonic() + 10
        while len(received) < 20_000 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        queue.close()
        consumer.join(10)
    assert not consumer.is_alive()
    assert received == list(range(20_000))


def test_close_wakes_a_waiting_consumer() -> None:
    queue = _EventQueue(10)
    result: list[Any] = []
    consumer = threading.Thread(target=lambda: result.append(queue.get(None)), name="queue-closer")
    consumer.start()
    time.sleep(0.05)
    queue.close()
    consumer.join(5)
    assert not consumer.is_alive() and result == [None]


# --------------------------------------------------------------------------
# Which events the client queues (no socket: frames are fed to the reader's
# entry point directly).

_BOOK = (
    '{"request_id":"%s","subscription_type":1,"market_data":{"market_slug":"m-1",'
    '"bids":[{"px":{"value":"0.54","currency":"USD"},"qty":"10"}],"offers":[],'
    '"state":1,"transact_time":"2024-01-15T10:30:00Z"}}'
)
_TRADE = (
    '{"request_id":"%s","subscription_type":3,"trade":{"market_slug":"m-1",'
    '"price":{"value":"0.55","currency":"USD"},"quantity":{"value":"1","currency":"USD"},'
    '"trade_time":"2024-01-15T10:30:00Z"}}'
)


def _offline_client(**options: Any) -> Any:
    import pmsync

    key = pmsync.Credentials.from_base64(
        "00000000-0000-4000-8000-000000000000", "A" * 43 + "="
    )
    client = pmsync.MarketsClient(key, reconnect=False, ping_interval=0, **options)
    client.subscribe_market_data(["m-1"], request_id="md")
    client.subscribe_trades(["m-1"], request_id="tr")
    client.connection_made(lambda frames: True, False)
    return client


def _feed(client: Any, text: str, times: int = 1) -> None:
    for _ in range(times):
        client.frame_received(1, text.encode())


def test_a_callback_only_client_queues_nothing() -> None:
    seen: list[Any] = []
    client = _offline_client(on_market_data=seen.append, on_trade=seen.append)
    try:
        _feed(client, _BOOK % "md", 50)
        _feed(client, _TRADE % "tr", 50)
        assert len(seen) == 100
        assert len(client._queue._items) == 0 and client.stats()["dropped"] == 0
    finally:
        client.close()


def test_unhandled_kinds_are_queued_before_messages_is_called() -> None:
    seen: list[Any] = []
    client = _offline_client(on_market_data=seen.append)  # no trade callback
    try:
        _feed(client, _BOOK % "md", 3)
        _feed(client, _TRADE % "tr", 2)
        queued = [event.kind for event in client.messages(timeout=0)]
        assert queued == ["trade", "trade"] and len(seen) == 3
    finally:
        client.close()


def test_handled_events_are_queued_once_messages_is_in_use() -> None:
    seen: list[Any] = []
    client = _offline_client(on_market_data=seen.append)
    try:
        _feed(client, _BOOK % "md", 2)
        assert list(client.messages(timeout=0)) == []  # now in use
        _feed(client, _BOOK % "md", 2)
        _feed(client, _TRADE % "tr")
        queued = [event.kind for event in client.messages(timeout=0)]
        assert queued == ["market_data", "market_data", "trade"] and len(seen) == 4
    finally:
        client.close()


def test_a_subscription_callback_counts_as_handling() -> None:
    seen: list[Any] = []
    client = _offline_client()
    try:
        client.subscribe_market_data(["m-2"], request_id="md2", callback=seen.append)
        _feed(client, (_BOOK % "md2").replace("m-1", "m-2"), 3)
        _feed(client, _BOOK % "md")  # no callback for this one
        assert len(seen) == 3
        assert [e.request_id for e in client.messages(timeout=0)] == ["md"]
    finally:
        client.close()


def test_ctrl_c_while_messages_waits_closes_the_client_and_ends_the_loop() -> None:
    import os
    import signal

    import pmsync
    from mockserver import demo_credentials

    client = pmsync.MarketsClient(pmsync.Credentials.from_base64(*demo_credentials(0)),
                                  base_url="ws://127.0.0.1:9")
    # A real SIGINT (Ctrl-C), handled in this, the main, thread while it waits.
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        assert list(client.messages(timeout=5)) == []  # ends, no KeyboardInterrupt
    finally:
        timer.join()
    assert time.monotonic() - started < 4
    assert client.closed and client.close_cause == "closed (closed by close())"
