"""Long runs: the journal is a bounded ring, everything a connection holds goes with it, and the
simulated exchange keeps filling orders for hours (simulated time, injected clock: no sleeping)."""

from __future__ import annotations

import collections
import itertools
import threading
import tracemalloc
from decimal import Decimal
from typing import Any

import pytest
import websocket

from mockserver import Exchange, Journal, JournalEntry, MockServer
from mockserver.handshake import HISTORY_SIZE
from mockserver_helpers import MARKETS, PRIVATE, connect, recv_json, subscribe, sign

RING = 200


def _mockserver_bytes() -> int:
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, "*/mockserver/*")])
    return sum(stat.size for stat in snapshot.statistics("filename"))


class Reader:
    """Reads a connection until it closes (keeping nothing), in a thread."""

    def __init__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws
        self.count = 0
        self.thread = threading.Thread(target=self._run, name="test-reader")
        self.thread.start()

    def _run(self) -> None:
        try:
            while True:
                self.ws.recv()
                self.count += 1
        except (websocket.WebSocketException, OSError):
            pass


def test_journal_ring_bounds_entries_and_memory_under_a_fast_ticker() -> None:
    tracemalloc.start(1)
    try:
        with MockServer(journal_size=RING, tick_interval=0.001, heartbeat_interval=1) as server:
            mkt, priv = connect(server, MARKETS), connect(server, PRIVATE)
            subscribe(mkt, "md", 1, server.markets)
            subscribe(priv, "o", 1)
            subscribe(priv, "p", 3)
            readers = [Reader(mkt), Reader(priv)]
            server.wait_for_subscription("SUBSCRIPTION_TYPE_POSITION")

            def wait_total(n: int) -> None:
                ok = threading.Event()
                server.add_tap(lambda *a: server.journal.total >= n and ok.set())
                assert ok.wait(60), f"journal total {server.journal.total} < {n} after 60 s"

            wait_total(3 * RING)                  # the ring has turned over: warm
            warm = _mockserver_bytes()
            wait_total(12 * RING)
            assert len(server.journal) == RING and server.journal.maxlen == RING
            assert server.journal.overwritten == server.journal.total - RING >= 11 * RING
            grown = _mockserver_bytes() - warm
            entries = list(server.journal)
            assert [e.direction for e in entries].count("out") > RING // 2
            mkt.close()
            priv.close()
            for reader in readers:
                reader.thread.join(10)
    finally:
        tracemalloc.stop()
    # 9 ring turns later the server holds no more than before (a ring's worth of text is ~200 KB)
    assert grown < 512 * 1024, grown


def test_journal_of_size_zero_keeps_nothing_and_still_counts() -> None:
    journal = Journal(0)
    for i in range(5):
        journal.append(JournalEntry(1, "/v1/ws/markets", "out", 0.0, f'{{"n":{i}}}'))
    assert len(journal) == 0 and journal.total == 5 and journal.overwritten == 5 and journal.jsonl() == ""
    ring = Journal(2)
    for i in range(5):
        ring.append(JournalEntry(1, "/v1/ws/markets", "out", 0.0, f'{{"n":{i}}}'))
    assert [e.data for e in ring] == [{"n": 3}, {"n": 4}] and ring.overwritten == 3
    with pytest.raises(ValueError):
        Journal(-1)


def test_a_connection_leaves_nothing_behind(pm_mockserver_factory) -> None:  # type: ignore[no-untyped-def]
    now = [1_767_225_600.0]
    server: MockServer = pm_mockserver_factory(reject_replayed_signatures=True, clock=lambda: now[0])
    server.pause_ticker()
    for i in range(30):
        ws = connect(server, MARKETS if i % 2 else PRIVATE, headers=sign(
            MARKETS if i % 2 else PRIVATE, timestamp_ms=int(now[0] * 1000) + i))
        subscribe(ws, f"s{i}", 1, server.markets[:2] if i % 2 else None)
        recv_json(ws)
        ws.close()
    server.wait_for_no_connections()
    registry = server._connections
    assert registry.live == {} and registry.opened.maxlen == HISTORY_SIZE
    assert server._handshakes._records.maxlen == HISTORY_SIZE
    assert len(server._handshakes._seen) == 30
    # replayed-signature memory keeps only signatures still inside the skew window
    now[0] += 100
    connect(server, MARKETS, headers=sign(MARKETS, timestamp_ms=int(now[0] * 1000))).close()
    assert len(server._handshakes._seen) == 1
    assert server.wait_idle()
    assert server._publisher._threads == []


def test_the_exchange_fills_orders_every_minute_for_hours_coherently() -> None:
    clock = itertools.count(1_767_225_600.0, 0.5)    # one step every 0.5 s of simulated time
    ex = Exchange(3, clock=lambda: next(clock))
    cash = ex.account.cash
    nets = {slug: p.net for slug, p in ex.account.positions.items()}
    per_minute: collections.Counter[int] = collections.Counter()
    kinds: collections.Counter[str] = collections.Counter()
    for step in range(2 * 3600 * 2):                 # two hours
        events = ex.step()
        for i, event in enumerate(events):
            if event.kind != "order_update":
                continue
            execution: dict[str, Any] = event.payload["execution"]
            kinds[str(execution["type"])] += 1
            if "last_shares" not in execution:
                continue
            per_minute[step // 120] += 1
            qty, px = Decimal(execution["last_shares"]), Decimal(execution["last_px"]["value"])
            buy = execution["order"]["side"] == "ORDER_SIDE_BUY"
            position = next(e for e in events[i:] if e.kind == "position").payload
            balance = next(e for e in events[i:] if e.kind == "balance").payload["balance_change"]
            before = Decimal(position["before_position"]["net_position_decimal"])
            after = Decimal(position["after_position"]["net_position_decimal"])
            assert after - before == (qty if buy else -qty)
            delta = balance["after_balance"]["current_balance"] - balance["before_balance"]["current_balance"]
            assert delta == (-qty * px if buy else qty * px)
            cash += delta
            nets[event.slug] = after  # type: ignore[index]
    assert len(per_minute) == 2 * 60 and min(per_minute.values()) >= 5, sorted(per_minute.values())[:5]
    assert kinds["EXECUTION_TYPE_NEW"] > 100 and kinds["EXECUTION_TYPE_CANCELED"] > 10
    assert cash == ex.account.cash and nets == {s: p.net for s, p in ex.account.positions.items()}
    assert 0 < len(ex.account.orders) <= ex.open_order_count


def test_a_client_that_stops_reading_is_dropped_at_the_queue_bound(pm_mockserver_factory, caplog) -> None:  # type: ignore[no-untyped-def]
    server: MockServer = pm_mockserver_factory(max_queue=10)
    server.pause_ticker()
    ws = connect(server, MARKETS)
    server.wait_for_connection()
    server.set_delay(0.3)                 # the writer is slow: frames pile up in the connection's queue
    for _ in range(20):
        server.send_unknown_payload()
    server.wait_for_no_connections(10)
    assert any("its client does not read: dropped" in r.getMessage() for r in caplog.records)
    ws.close()
