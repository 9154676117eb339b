"""The ``messages()`` queue: a lock-free producer, a consumer woken when it waits (issue 6)."""

from __future__ import annotations

import threading
import time
from typing import Any

from pmsync.client import _EventQueue
from pmsync.codec import Event


def event(i: int) -> Event:
    return Event("heartbeat", None, None, i, "")


def test_drops_oldest_and_counts_bursts() -> None:
    queue = _EventQueue(3)
    queue.in_use = True
    starts = [queue.put(event(i)) for i in range(6)]
    assert starts == [False, False, False, True, False, False]
    assert queue.dropped == 3
    assert [queue.get(0).data for _ in range(3)] == [3, 4, 5]  # type: ignore[union-attr]
    assert queue.get(0) is None
    queue.put(event(6))  # not full: the burst is over
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
