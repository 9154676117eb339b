"""Churn: against ``mockserver.MockServer`` (in process), one MarketsClient does
subscribe → ``wait_snapshot`` → unsubscribe rounds on one market over one
connection. Rounds per second (tracemalloc off), then the client's heap growth
per 1,000 rounds (tracemalloc on, after a traced warm-up). Before each measure the
server's journal of every frame is emptied (it is the server's, not the
client's), and so is the codec's bounded Decimal cache (at most 8,192
prices). Ended subscriptions must leave nothing behind."""

from __future__ import annotations

import gc
import time
import tracemalloc
from typing import Any

import pmsync
from mockserver import MockServer
from pmsync import codec

from .common import save, table

def _client_heap(server: MockServer) -> int:
    """Traced bytes, without the server's journal and the codec's bounded memo tables."""
    server.journal.clear()
    codec.clear_caches()
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def run(quick: bool = False) -> dict[str, Any]:
    rounds = 500 if quick else 3_000
    traced = 500 if quick else 3_000
    warmup = 200
    with MockServer(heartbeat_interval=1.0, tick_interval=0.5) as server:
        creds = pmsync.Credentials.from_base64(server.demo_key_id, server.demo_secret_key)
        slug = server.markets[0]
        with pmsync.MarketsClient(creds, base_url=server.url, heartbeat_timeout=5.0) as client:

            def churn(n: int) -> None:
                for _ in range(n):
                    sub = client.subscribe_market_data([slug], callback=lambda event: None)
                    sub.wait_snapshot(10)
                    sub.unsubscribe()

            churn(warmup)
            start = time.perf_counter()
            churn(rounds)
            elapsed = time.perf_counter() - start
            tracemalloc.start()
            churn(warmup)  # traced too: objects it replaces were allocated untraced
            before = _client_heap(server)
            churn(traced)
            growth = _client_heap(server) - before
            tracemalloc.stop()
            live = len(client._subscriptions), len(client._session)
    per_1000 = growth * 1000 / traced
    res = {
        "rounds": rounds,
        "rounds_per_s": rounds / elapsed,
        "traced_rounds": traced,
        "heap_growth_bytes_per_1000_rounds": per_1000,
        "registries_after": live,
    }
    text = table(
        f"Churn: subscribe → wait_snapshot → unsubscribe (one market, mock server in process; "
        f"{rounds} rounds timed, {traced} traced)",
        ["rounds/s", "client heap growth per 1,000 rounds", "subscriptions left (client, session)"],
        [[res["rounds_per_s"], f"{per_1000 / 1024:+.1f} KiB", str(live)]],
    )
    save("churn", res)
    res["table"] = text
    return res
