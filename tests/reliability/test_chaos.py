"""Chaos run in CI (issue 5): faults at seeded random intervals while a
``PrivateClient`` and a ``MarketsClient`` hold six subscriptions.

Seeds of the three runs: 101, 202 and 303 (``SEEDS``). Each run lasts
``DURATION`` seconds at ``RATE`` faults per second and must inject at least 50
faults of at least 6 kinds (see ``mockserver.chaos.KINDS``).

Checked for each run (``mockserver.chaos.StreamChecker``):

- every connection the client saw maps, in order, to a connection the server
  opened on the same path; what the client received on it is exactly a prefix
  of what the server sent there, tapped as it was sent (the missing tail is the
  gap of a dropped connection; anything else is loss, a duplicate or a reordering);
- a connection closed with a close frame lost nothing at all;
- after every reconnect every subscription was sent again and its snapshot
  arrived again marked ``resync`` (a connection that lived more than 3 s, or
  the last one, must have been resynced);
- no unhandled exception in any thread, ``on_callback_error`` never called,
  thread count back to baseline, ``tracemalloc`` (pmsync and websocket-client
  allocations) flat between warm-up and the end.
"""

from __future__ import annotations

import gc
import os
import tracemalloc
from collections.abc import Iterator

import pytest
import websocket

import pmsync
from pmsync import codec
from mockserver import MockServer, demo_credentials
from mockserver.chaos import KINDS, FaultSchedule, StreamChecker, StreamTap

from .conftest import ThreadErrors

SEEDS = (101, 202, 303)
DURATION = 18.0
RATE = 3.5
WARMUP = 4.0
MEMORY_BOUND = 2 * 1024 * 1024

pytestmark = pytest.mark.slow

# The packages' own folders (a checkout may itself be named "pmsync": a pattern
# like "*/pmsync/*" would then count the tests and the mock server too).
_TRACE_FILTERS = [
    tracemalloc.Filter(True, os.path.join(os.path.dirname(pmsync.__file__), "*")),
    tracemalloc.Filter(True, os.path.join(os.path.dirname(websocket.__file__), "*")),
]


def traced_client_memory() -> int:
    """Bytes currently allocated from pmsync and websocket-client code, without
    the codec's bounded memo tables (they empty themselves when full, so how full
    they are at a given moment says nothing of a leak)."""
    codec.clear_caches()
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(_TRACE_FILTERS)
    return sum(stat.size for stat in snapshot.statistics("filename"))


@pytest.fixture
def tracing() -> Iterator[None]:
    tracemalloc.start(1)
    try:
        yield
    finally:
        tracemalloc.stop()


def client_options(server: MockServer) -> dict[str, object]:
    return {
        "base_url": server.url,
        "backoff_initial": 0.05,
        "backoff_max": 0.3,
        "heartbeat_timeout": 1.0,
        "connect_timeout": 5.0,
        "ping_interval": 2.0,
        "queue_size": 0,
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_chaos(seed: int, thread_baseline: int, thread_errors: ThreadErrors, tracing: None) -> None:
    server = MockServer(seed=seed, heartbeat_interval=0.2, tick_interval=0.05).start()
    credentials = pmsync.Credentials.from_base64(*demo_credentials(seed))
    private = pmsync.PrivateClient(credentials, **client_options(server))  # type: ignore[arg-type]
    markets = pmsync.MarketsClient(credentials, **client_options(server))  # type: ignore[arg-type]
    ptap = StreamTap("private", "/v1/ws/private")
    mtap = StreamTap("markets", "/v1/ws/markets")
    ptap.attach(private)
    mtap.attach(markets)
    checkers = [StreamChecker(server, ptap), StreamChecker(server, mtap)]  # they tap frames as they are sent
    schedule = FaultSchedule(server, seed, rate=RATE, duration=DURATION)
    try:
        slugs = server.markets[:3]
        private.connect()
        markets.connect()
        subs = {
            "orders": (private.subscribe_orders(), ptap, 1),
            "balances": (private.subscribe_balances(), ptap, 1),
            "positions": (private.subscribe_positions(), ptap, 0),
            "market_data": (markets.subscribe_market_data(slugs), mtap, len(slugs)),
            "lite": (markets.subscribe_market_data_lite(slugs), mtap, len(slugs)),
            "trades": (markets.subscribe_trades(slugs), mtap, 0),
        }
        for sub, tap, count in subs.values():
            (rid,) = sub.request_ids
            tap.expect(rid, count)
        for sub, _, _ in subs.values():
            sub.wait_snapshot(timeout=10)

        schedule.start()
        assert not schedule.wait(WARMUP)  # the run goes on: this is the warm-up
        memory_warm = traced_client_memory()
        assert schedule.wait(DURATION + 10), "the fault schedule did not finish"
        schedule.stop()
        # Faults over: both clients come back and resync within a bounded time.
        for tap in (ptap, mtap):
            assert tap.wait_resynced(20), f"{tap.name} did not resync after the run: {tap.problems}"
        for sub, _, _ in subs.values():
            assert sub.active, sub
        memory_end = traced_client_memory()
    finally:
        schedule.stop()
        private.close()
        markets.close()
        server.stop()

    counts = schedule.counts()
    print(f"seed {seed}: {len(schedule.injected)} faults {counts}; reconnects private "
          f"{ptap.reconnects}, markets {mtap.reconnects}; memory {memory_warm} -> {memory_end}")
    assert not schedule.errors
    assert len(schedule.injected) >= 50, counts
    assert len(counts) >= 6, counts
    assert set(counts) <= set(KINDS)

    for tap, checker in zip((ptap, mtap), checkers):
        report = checker.check(final=True)
        print(report)
        assert tap.problems == []
        assert report.problems == []
        assert report.lost == report.duplicates == report.unexpected == 0
        assert report.lost_before_close == 0
        assert report.connections == tap.reconnects + 1
        assert report.resynced >= 1
        assert tap.callback_errors == 0
        assert tap.errors_seen.get("DecodeError", 0) >= 1 or counts.get("malformed", 0) == 0
    assert ptap.reconnects >= 5 and mtap.reconnects >= 5
    assert private.stats()["callback_errors"] == 0 and markets.stats()["callback_errors"] == 0
    assert memory_end - memory_warm < MEMORY_BOUND, (memory_warm, memory_end)
    server.check_assertions()
