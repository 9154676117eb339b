"""Latency: the blast server sends market-data frames at 1,000 msg/s, each stamped
with ``time.time_ns()`` just before it is sent (``"bench_ns"`` inside the payload);
pmsync's ``on_market_data`` takes ``time.time_ns()`` on entry. p50/p99/max of the
difference (server and client on the same machine and clock)."""

from __future__ import annotations

import re
import time
from typing import Any

from . import clients
from .blast import BlastServer
from .common import save, table

_STAMP = re.compile(r'"bench_ns":(\d+)')


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(quick: bool = False) -> dict[str, Any]:
    n = 2_000 if quick else 10_000
    rate = 1_000.0
    rows = []
    out: dict[str, Any] = {}
    with BlastServer() as server:
        for backend in ("orjson", "json"):
            stamps: list[tuple[int, str]] = []

            def on_market_data(event: Any) -> None:
                now = time.time_ns()
                event.data.best_bid, event.data.best_ask
                stamps.append((now, event.raw))

            clients.pmsync_client(server, "snake", n, "md", backend=backend,
                                  on_market_data=on_market_data, rate=rate)
            lat = [(now - int(_STAMP.search(raw).group(1))) / 1e3  # type: ignore[union-attr]
                   for now, raw in stamps]
            lat = lat[len(lat) // 20:]  # skip the first 5 % (connection warm-up)
            res = {"n": len(lat), "p50_us": percentile(lat, 0.5), "p99_us": percentile(lat, 0.99),
                   "max_us": max(lat)}
            out[backend] = res
            rows.append([f"pmsync ({backend})", rate, res["n"], res["p50_us"], res["p99_us"],
                         res["max_us"], "yes" if res["p99_us"] <= 1000 else "no"])
    text = table("Latency, send → callback entry (µs)",
                 ["client", "msgs/s", "samples", "p50", "p99", "max", "p99 ≤ 1 ms"], rows)
    save("latency", out)
    out["table"] = text
    return out
