"""Shared helpers: payloads (WIRE.md §6 examples in both dialects), tables, results."""

from __future__ import annotations

import base64
import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

RESULTS = Path(__file__).resolve().parent / "results"

# WIRE.md §6, documented examples (camel dialect), verbatim.
CAMEL = {
    "market_data": '{"requestId":"md-sub-1","subscriptionType":"SUBSCRIPTION_TYPE_MARKET_DATA","marketData":{"marketSlug":"market-slug-1","bids":[{"px":{"value":"0.54","currency":"USD"},"qty":"1000"},{"px":{"value":"0.53","currency":"USD"},"qty":"2500"}],"offers":[{"px":{"value":"0.56","currency":"USD"},"qty":"800"},{"px":{"value":"0.57","currency":"USD"},"qty":"1500"}],"state":"MARKET_STATE_OPEN","stats":{"lastTradePx":{"value":"0.55","currency":"USD"},"sharesTraded":"150000","openInterest":"500000","highPx":{"value":"0.58","currency":"USD"},"lowPx":{"value":"0.52","currency":"USD"}},"transactTime":"2024-01-15T10:30:00Z"}}',
    "market_data_lite": '{"requestId":"mdl-sub-1","subscriptionType":"SUBSCRIPTION_TYPE_MARKET_DATA_LITE","marketDataLite":{"marketSlug":"market-slug-1","currentPx":{"value":"0.55","currency":"USD"},"lastTradePx":{"value":"0.55","currency":"USD"},"bestBid":{"value":"0.54","currency":"USD"},"bestAsk":{"value":"0.56","currency":"USD"},"bidDepth":5,"askDepth":4,"sharesTraded":"150000","openInterest":"500000"}}',
    "trade": '{"requestId":"trade-sub-1","subscriptionType":"SUBSCRIPTION_TYPE_TRADE","trade":{"marketSlug":"market-slug-1","price":{"value":"0.555","currency":"USD"},"quantity":{"value":"0.50","currency":"USD"},"tradeTime":"2024-01-15T10:30:00Z","maker":{"side":"ORDER_SIDE_BUY","intent":"ORDER_INTENT_BUY_LONG"},"taker":{"side":"ORDER_SIDE_SELL","intent":"ORDER_INTENT_SELL_LONG"}}}',
    "order_snapshot": '{"requestId":"order-sub-1","subscriptionType":"SUBSCRIPTION_TYPE_ORDER","orderSubscriptionSnapshot":{"orders":[{"id":"order-123","marketSlug":"market-slug-1","side":"ORDER_SIDE_BUY","type":"ORDER_TYPE_LIMIT","price":{"value":"0.555","currency":"USD"},"quantity":0.5,"leavesQuantity":0.5,"state":"ORDER_STATE_PENDING_NEW","intent":"ORDER_INTENT_BUY_LONG","tif":"TIME_IN_FORCE_GOOD_TILL_CANCEL"}],"eof":true}}',
    "order_update": '{"requestId":"order-sub-1","subscriptionType":"SUBSCRIPTION_TYPE_ORDER","orderSubscriptionUpdate":{"execution":{"id":"exec-456","order":{"id":"order-123","marketSlug":"market-slug-1","state":"ORDER_STATE_PARTIALLY_FILLED"},"lastShares":"0.25","lastPx":{"value":"0.555","currency":"USD"},"type":"EXECUTION_TYPE_PARTIAL_FILL","tradeId":"trade-789"}}}',
    "position_update": '{"requestId":"pos-sub-1","subscriptionType":"SUBSCRIPTION_TYPE_POSITION","positionSubscription":{"beforePosition":{"netPosition":"1","netPositionDecimal":"1.0000","cost":{"value":"55.00","currency":"USD"}},"afterPosition":{"netPosition":"2","netPositionDecimal":"1.5000","cost":{"value":"82.50","currency":"USD"}},"updateTime":"2024-01-15T10:30:00Z","entryType":"LEDGER_ENTRY_TYPE_ORDER_EXECUTION","tradeId":"trade-789"}}',
    "balance_snapshot": '{"requestId":"balance-sub-1","subscriptionType":"SUBSCRIPTION_TYPE_ACCOUNT_BALANCE","accountBalancesSnapshot":{"balances":[{"currentBalance":1000.00,"currency":"USD","buyingPower":850.00}]}}',
    "balance_update": '{"requestId":"balance-sub-1","subscriptionType":"SUBSCRIPTION_TYPE_ACCOUNT_BALANCE","accountBalancesUpdate":{"balanceChange":{"beforeBalance":{"currentBalance":1000.00,"currency":"USD","buyingPower":850.00},"afterBalance":{"currentBalance":972.25,"currency":"USD","buyingPower":822.25},"description":"Order execution","updateTime":"2024-01-15T10:30:00Z","entryType":"LEDGER_ENTRY_TYPE_ORDER_EXECUTION"}}}',
    "heartbeat": '{"heartbeat":{}}',
    "error": '{"requestId":"unique-request-id","error":"Error description"}',
}

ENDPOINT = {
    "market_data": "markets", "market_data_lite": "markets", "trade": "markets",
    "heartbeat": "markets", "error": "markets",
}


def _snake_key(key: str) -> str:
    from pmsync.codec import to_snake

    return to_snake(key)


def _enum_numbers() -> dict[str, int]:
    from pmsync import enums

    table: dict[str, int] = {}
    for name in enums.__all__:
        cls = getattr(enums, name)
        if isinstance(cls, type) and issubclass(cls, enums.WireEnum) and cls is not enums.WireEnum:
            for member in cls:
                if member.number is not None:
                    table[member.value] = member.number
    return table


def to_snake_dialect(obj: Any, numbers: dict[str, int] | None = None) -> Any:
    """Keys to snake_case and enum names to their documented numbers (WIRE.md §3)."""
    numbers = _enum_numbers() if numbers is None else numbers
    if isinstance(obj, dict):
        return {_snake_key(k): to_snake_dialect(v, numbers) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_snake_dialect(v, numbers) for v in obj]
    if isinstance(obj, str) and obj in numbers:
        return numbers[obj]
    return obj


def message(kind: str, dialect: str = "snake", request_id: str | None = None) -> str:
    """The documented example of ``kind`` in ``dialect``, compact, optionally re-keyed."""
    obj = json.loads(CAMEL[kind])
    if request_id is not None and "requestId" in obj:
        obj["requestId"] = request_id
    if dialect == "snake":
        obj = to_snake_dialect(obj)
    return json.dumps(obj, separators=(",", ":"))


def credentials() -> tuple[str, str]:
    """A freshly generated Ed25519 API key (key id, base64 64-byte secret)."""
    key = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "00000000-0000-4000-8000-000000000000", base64.b64encode(seed + public).decode()


def machine() -> dict[str, Any]:
    versions = {}
    for dist in ("websocket-client", "websockets", "orjson", "cattrs", "attrs", "polymarket-us"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "versions": versions,
    }


def machine_line() -> str:
    info = machine()
    libs = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    return f"{info['cpus']} CPUs, {info['implementation']} {info['python']} ({info['platform']}); {libs}"


def table(title: str, header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table (printed and reused in RESULTS.md)."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            if value >= 100:
                return f"{value:,.0f}"
            if value >= 10:
                return f"{value:.1f}"
            return f"{value:.2f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    lines = [f"### {title}", "", "| " + " | ".join(header) + " |",
             "| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    text = "\n".join(lines) + "\n"
    print(text, flush=True)
    return text


def save(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": name, "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine(),
            "argv": sys.argv, **data}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
