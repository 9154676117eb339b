"""What the mock server sends on subscriptions: snapshots, exchange updates, replayed frames.

A new subscription gets its snapshot (simulated exchange) or its recorded
frames (replay mode, one thread per subscription); every exchange step is
routed to the live subscriptions whose type and markets match.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from .connections import Connection, Connections, Subscription
from .exchange import Enum, Event, Exchange
from .protocol import PAYLOAD_KEYS
from .replay import Replayer
from .replay import play as play_replay

__all__ = ["Publisher"]

log = logging.getLogger("mockserver.server")


class Publisher:
    """Snapshots and updates of the simulated exchange, or recorded frames, to subscriptions."""

    def __init__(self, exchange: Exchange, connections: Connections, replayer: Replayer | None,
                 page_size: int, stopping: threading.Event) -> None:
        self.exchange = exchange
        self.connections = connections
        self.replayer = replayer
        self.page_size = page_size
        self.stopping = stopping
        self._threads: list[threading.Thread] = []

    def subscribe(self, conn: Connection, sub: Subscription) -> str | None:
        """Start serving a new subscription (lock held); an error message refuses it."""
        if self.replayer is not None:
            refusal = self.replayer.refusal(conn.path, sub.type)
            if refusal is None:
                self._start_replay(conn, sub)
            return refusal
        for message in self.snapshot(sub):
            self.connections.enqueue(conn, message, sub)
        return None

    def _wrap(self, sub: Subscription, key: str, payload: Any) -> dict[str, Any]:
        return {"request_id": sub.request_id, "subscription_type": Enum(sub.type), key: payload}

    def snapshot(self, sub: Subscription) -> list[dict[str, Any]]:
        """The snapshot messages a new subscription gets (none for update-only types)."""
        ex = self.exchange
        t = sub.type
        if t in ("SUBSCRIPTION_TYPE_ORDER", "SUBSCRIPTION_TYPE_ORDER_SNAPSHOT"):
            orders = ex.open_orders(sub.slugs)
            pages = [orders[i:i + self.page_size] for i in range(0, len(orders), self.page_size)] or [[]]
            return [self._wrap(sub, "order_subscription_snapshot",
                               {"orders": page, "eof": i == len(pages) - 1})
                    for i, page in enumerate(pages)]
        if t == "SUBSCRIPTION_TYPE_ACCOUNT_BALANCE":
            return [self._wrap(sub, "account_balances_snapshot", {"balances": ex.balances()})]
        if t == "SUBSCRIPTION_TYPE_MARKET_DATA":
            return [self._wrap(sub, "market_data", ex.market_data(s)) for s in sub.slugs]
        if t == "SUBSCRIPTION_TYPE_MARKET_DATA_LITE":
            return [self._wrap(sub, "market_data_lite", ex.market_data_lite(s)) for s in sub.slugs]
        return []

    def _start_replay(self, conn: Connection, sub: Subscription) -> None:
        assert self.replayer is not None
        frames = self.replayer.frames_for(conn.path, sub.type, sub.slugs)
        if not frames:
            log.info("connection %d: no recorded frame of %s for %s", conn.id, sub.type, sub.slugs or "it")
            return

        def send(payload: str | bytes) -> bool:
            if not sub.active or conn.dropped or self.stopping.is_set():
                return False
            self.connections.put(conn, payload, sub, fault=True)  # recorded frames are sent as they came
            return True

        def wait(seconds: float) -> bool:
            return self.stopping.wait(seconds) or not sub.active

        thread = threading.Thread(
            target=play_replay, args=(frames, sub.request_id, self.replayer.speed, send, wait, time.monotonic),
            name=f"mockserver-replay-{conn.id}-{sub.request_id}", daemon=False)
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def join(self, timeout: float) -> None:
        """Join the replay threads (call once the server is stopping)."""
        with self.connections.lock:
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(timeout)

    def publish(self, events: Iterable[Event]) -> None:
        """Route events to matching live subscriptions (lock held)."""
        if self.replayer is not None:
            return  # replay mode: only recorded frames are sent
        registry = self.connections
        conns = [registry.live[k] for k in sorted(registry.live)]
        for event in events:
            types, key = PAYLOAD_KEYS[event.kind]
            for conn in conns:
                for sub in list(conn.subs.values()):
                    if sub.type not in types or not sub.active:
                        continue
                    if (sub.slugs and event.slug is not None and event.kind not in ("balance", "rfq")
                            and event.slug not in sub.slugs):
                        continue
                    registry.enqueue(conn, self._wrap(sub, key, event.payload), sub)

    def apply(self, step: Callable[[], list[Event]]) -> list[Event]:
        """Run one exchange change under the lock and publish its events; returns them."""
        with self.connections.lock:
            events = step()
            self.publish(events)
            return events

    def send_raw(self, payload: str | bytes, path: str | None) -> int:
        """Queue one frame, as is, to each live connection (on ``path``); returns how many."""
        targets = self.connections.targets(path)
        for conn in targets:
            self.connections.put(conn, payload, None, fault=True)
        return len(targets)
