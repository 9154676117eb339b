"""Throughput: messages per second of each client against the blast server.

Clients are measured in the same run, in alternating rounds (round-robin, the
order rotated each round); the figure is the median of the rounds.
"""

from __future__ import annotations

import gc
from typing import Any, Callable

from . import clients
from .blast import BlastServer, frames
from .common import median, save, table

CLIENTS: list[tuple[str, str, Callable[..., clients.Result]]] = [
    ("sink (raw socket bytes, server bound)", "snake", clients.sink),
    ("websocket-client recv(), skip_utf8_validation (floor)", "snake", clients.raw),
    ("websockets sans-I/O Protocol over the same socket (pmsync's framing; floor)", "snake",
     clients.protocol_floor),
    ("floor + json.loads", "snake", clients.raw_json),
    ("floor + orjson.loads", "snake", clients.raw_orjson),
    ("official SDK, on('market_data') best bid/ask (camel)", "camel", clients.sdk),
    ("pmsync MarketsClient, on_market_data best bid/ask (orjson)", "snake", clients.pmsync_client),
    ("pmsync MarketsClient, on_market_data best bid/ask (json)", "snake", clients.pmsync_json),
    ("official SDK, on('market_data') reads every level, px and qty (camel)", "camel",
     clients.sdk_every_level),
    ("pmsync MarketsClient, on_market_data reads every level, px and qty (orjson)", "snake",
     clients.pmsync_every_level),
]
SHORT = ["sink", "floor", "protocol", "json", "orjson", "sdk", "pmsync", "pmsync_json",
         "sdk_every", "pmsync_every"]


def measure(server: BlastServer, mix: str, n: int, rounds: int) -> dict[str, Any]:
    _, total, md = frames("snake", n, mix)
    rates: dict[str, list[float]] = {s: [] for s in SHORT}
    order = list(range(len(CLIENTS)))
    for r in range(rounds):
        for i in order[r % len(order):] + order[: r % len(order)]:
            _, dialect, fn = CLIENTS[i]
            gc.collect()
            elapsed, count = fn(server, dialect, n, mix)
            expected = n if fn in (clients.sink, clients.raw, clients.protocol_floor,
                                   clients.raw_json, clients.raw_orjson) else md
            if count != expected:
                raise RuntimeError(f"{SHORT[i]}: got {count} messages, expected {expected}")
            rates[SHORT[i]].append(n / elapsed)
    med = {s: median(v) for s, v in rates.items()}
    return {"n": n, "mix": mix, "frame_bytes_avg": total / n, "rounds": rounds,
            "rates": rates, "median": med}


def run(quick: bool = False) -> dict[str, Any]:
    n = 20_000 if quick else 100_000
    rounds = 3 if quick else 5
    out: dict[str, Any] = {}
    text = ""
    with BlastServer() as server:
        for c in CLIENTS:  # warm up every path once (imports, caches)
            c[2](server, c[1], 2000, "md")
        for mix in ("md", "mix"):
            res = measure(server, mix, n, rounds)
            med = res["median"]
            rows = []
            for (label, _, _), s in zip(CLIENTS, SHORT):
                rows.append([label, med[s], 1e6 / med[s], med[s] / med["sdk"],
                             med[s] / med["floor"], med[s] / med["protocol"]])
            what = ("market-data frames only" if mix == "md"
                    else "mix: 70% market data, 20% lite, 8% trade, 2% heartbeat")
            text += table(
                f"Throughput, {what} (N={n:,}, ~{res['frame_bytes_avg']:.0f} B/frame, "
                f"median of {rounds})",
                ["client", "msgs/s", "µs/msg", "× SDK", "× floor (websocket-client)",
                 "× Protocol floor"], rows)
            res["ratios"] = {
                "pmsync/sdk": med["pmsync"] / med["sdk"],
                "pmsync_json/sdk": med["pmsync_json"] / med["sdk"],
                "pmsync/floor": med["pmsync"] / med["floor"],
                "pmsync_json/floor": med["pmsync_json"] / med["floor"],
                "sink/floor": med["sink"] / med["floor"],
                "pmsync/protocol_floor": med["pmsync"] / med["protocol"],
                "protocol_floor/floor": med["protocol"] / med["floor"],
                "pmsync_every/sdk_every": med["pmsync_every"] / med["sdk_every"],
            }
            out[mix] = res
    save("throughput", out)
    out["table"] = text
    return out
