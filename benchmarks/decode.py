"""Decode: in-process µs per message for each documented payload kind (WIRE.md §6),
``pmsync.codec.decode`` (orjson and json back ends) against ``json.loads`` and
``orjson.loads`` alone, with ``timeit`` (best of 5 repeats)."""

from __future__ import annotations

import json
import timeit
from typing import Any

from pmsync import codec

from .common import CAMEL, message, save, table

PRIVATE = {"order_snapshot", "order_update", "position_update", "balance_snapshot",
           "balance_update"}


def per_call(fn: Any, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def run(quick: bool = False) -> dict[str, Any]:
    import orjson

    number = 2_000 if quick else 20_000
    rows = []
    results: dict[str, Any] = {}
    for kind in CAMEL:
        endpoint = "private" if kind in PRIVATE else "markets"
        for dialect in ("camel", "snake"):
            text = message(kind, dialect)
            data = text.encode()
            j = per_call(lambda: json.loads(text), number)
            o = per_call(lambda: orjson.loads(data), number)
            previous = codec.use_backend("orjson")
            d_or = per_call(lambda: codec.decode(data, endpoint), number)
            codec.use_backend("json")
            d_js = per_call(lambda: codec.decode(data, endpoint), number)
            codec.use_backend(previous)
            rows.append([kind, dialect, len(data), j, o, d_or, d_js, d_or / j, d_js / j])
            results[f"{kind}/{dialect}"] = {"bytes": len(data), "json_loads": j,
                                            "orjson_loads": o, "decode_orjson": d_or,
                                            "decode_json": d_js}
    text = table(f"Decode, in-process µs per message (timeit, best of 5 × {number:,})",
                 ["kind", "dialect", "bytes", "json.loads", "orjson.loads",
                  "decode (orjson)", "decode (json)", "decode(orjson) / json.loads",
                  "decode(json) / json.loads"], rows)
    save("decode", {"number": number, "results": results})
    return {"results": results, "table": text}
