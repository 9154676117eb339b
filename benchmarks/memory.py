"""Memory and CPU: pmsync MarketsClient against the blast server (mix of frames).

Pass 1 (no tracing): CPU seconds of this process (``time.process_time``, every
thread) per million messages, and RSS after a 50,000-message warm-up and at the
end. Pass 2: the same with ``tracemalloc`` started after the warm-up and its
baseline taken 50,000 market-data events later: traced memory growth from that
baseline to the end. (The client only has ``on_market_data``, so the lite and
trade events go to the bounded ``messages()`` queue. Tracing sees only objects
allocated after it starts, so the queue's contents count as "growth" until all
of them have been replaced once: the baseline waits for that.)
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from typing import Any

from . import clients
from .blast import BlastServer, market_data_count
from .common import save, table

WARMUP = 50_000


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        import os

        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def one_pass(server: BlastServer, n: int, trace: bool) -> dict[str, Any]:
    state: dict[str, Any] = {"count": 0}
    # Counted, not built: the client process holds no copy of the frames.
    md = market_data_count(n, "mix")

    def on_market_data(event: Any) -> None:
        event.data.best_bid, event.data.best_ask
        state["count"] += 1
        if state["count"] == WARMUP:
            gc.collect()
            state["rss0"] = rss_bytes()
            if trace:
                tracemalloc.start()
        elif state["count"] == 2 * WARMUP and trace:
            gc.collect()
            state["traced0"] = tracemalloc.get_traced_memory()[0]
        elif state["count"] == md:
            gc.collect()
            state["rss1"] = rss_bytes()
            if trace:
                state["traced1"] = tracemalloc.get_traced_memory()[0]
                tracemalloc.stop()

    cpu0 = time.process_time()
    elapsed, _ = clients.pmsync_client(server, "snake", n, "mix",
                                       on_market_data=on_market_data)
    cpu = time.process_time() - cpu0
    assert state["count"] == md, (state["count"], md)
    out = {"n": n, "elapsed_s": elapsed, "cpu_s": cpu, "cpu_s_per_million": cpu / n * 1e6,
           "rss_warm_mib": state["rss0"] / 2**20, "rss_end_mib": state["rss1"] / 2**20,
           "rss_growth_mib": (state["rss1"] - state["rss0"]) / 2**20}
    if trace:
        out["traced_growth_mib"] = (state["traced1"] - state["traced0"]) / 2**20
    return out


def run(quick: bool = False) -> dict[str, Any]:
    n = 200_000 if quick else 1_000_000
    with BlastServer() as server:
        plain = one_pass(server, n, trace=False)
        traced = one_pass(server, n, trace=True)
    rows = [[f"{n:,}", plain["cpu_s_per_million"], plain["rss_warm_mib"], plain["rss_end_mib"],
             plain["rss_growth_mib"], traced["traced_growth_mib"],
             "yes" if max(plain["rss_growth_mib"], traced["traced_growth_mib"]) < 1 else "no"]]
    text = table("Memory and CPU, pmsync over the mix (RSS after a 50,000-message warm-up; tracemalloc baseline 50,000 later)",
                 ["messages", "CPU s / million msgs", "RSS warm MiB", "RSS end MiB",
                  "RSS growth MiB", "tracemalloc growth MiB", "growth < 1 MiB"], rows)
    res = {"plain": plain, "traced": traced}
    save("memory", res)
    res["table"] = text
    return res
