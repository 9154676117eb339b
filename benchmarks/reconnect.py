"""Reconnect: against ``mockserver.MockServer`` (in process), 2 pmsync clients with 6
subscriptions between them; 50 abrupt drops (``server.drop_connections()``); the
time from each drop to every subscription re-snapshotted after the resync
(``Subscription.wait_snapshot`` returning the new snapshot, ``resync=True``)."""

from __future__ import annotations

import time
from typing import Any

import pmsync
from mockserver import MockServer

from .common import median, save, table


def run(quick: bool = False) -> dict[str, Any]:
    drops = 10 if quick else 50
    backoff = 0.1
    times: list[float] = []
    with MockServer(heartbeat_interval=1.0, tick_interval=0.5) as server:
        creds = pmsync.Credentials.from_base64(server.demo_key_id, server.demo_secret_key)
        slugs = server.markets[:4]
        opts = dict(base_url=server.url, backoff_initial=backoff, backoff_max=backoff,
                    heartbeat_timeout=5.0)
        markets = pmsync.MarketsClient(creds, **opts)
        private = pmsync.PrivateClient(creds, **opts)
        subs = [
            markets.subscribe_market_data(slugs[:2]),
            markets.subscribe_market_data(slugs[2:4]),
            markets.subscribe_market_data_lite(slugs),
            private.subscribe_orders(),
            private.subscribe_order_snapshot(),
            private.subscribe_balances(),
        ]
        markets.connect()
        private.connect()
        for sub in subs:
            sub.wait_snapshot(10)
        for _ in range(drops):
            before = [s.wait_snapshot(0) for s in subs]
            start = time.perf_counter()
            server.drop_connections()
            for sub, old in zip(subs, before):
                deadline = time.perf_counter() + 10
                while True:
                    snap = sub.wait_snapshot(max(0.0, deadline - time.perf_counter()))
                    if snap is not old and snap is not None and snap.resync:
                        break
                    time.sleep(0.0005)
                    if time.perf_counter() > deadline:
                        raise TimeoutError("no resync snapshot")
            times.append((time.perf_counter() - start) * 1e3)
            time.sleep(0.05)
        markets.close()
        private.close()
    bound = backoff * 1e3 + 100
    res = {"drops": drops, "backoff_initial_ms": backoff * 1e3, "median_ms": median(times),
           "max_ms": max(times), "bound_ms": bound, "times_ms": times}
    text = table(f"Reconnect, drop → all 6 subscriptions re-snapshotted ({drops} drops, "
                 f"backoff_initial = backoff_max = {backoff * 1e3:.0f} ms, jitter 50–100 %)",
                 ["median ms", "max ms", "bound: backoff_initial + 100 ms", "median ≤ bound"],
                 [[res["median_ms"], res["max_ms"], bound,
                   "yes" if res["median_ms"] <= bound else "no"]])
    save("reconnect", res)
    res["table"] = text
    return res
