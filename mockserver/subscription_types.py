"""The mock's own table of subscription types (docs/protocol.md).

Independent of ``pmsync``, which keeps its own table
(``pmsync.subscription_types``): a test checks that the two agree. The
protocol's per-endpoint names and numbers (:data:`mockserver.protocol.ENDPOINTS`)
and which updates each type receives (:data:`mockserver.protocol.PAYLOAD_KEYS`)
are built from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["PRIVATE", "MARKETS", "STREAM_TYPES", "StreamType"]

#: Path of the private endpoint.
PRIVATE = "/v1/ws/private"
#: Path of the markets endpoint.
MARKETS = "/v1/ws/markets"


@dataclass(frozen=True)
class StreamType:
    """One subscription type as the mock serves it.

    ``snapshot`` is how the server answers a subscribe before any update:
    ``"none"``, ``"one"`` message, one message ``"per_market"`` slug, or
    ``"pages"`` of at most ``page_size`` items, the last with ``eof`` true;
    ``snapshot_key`` is that message's payload key. ``updates`` maps each
    exchange event kind it receives to the payload key it is sent under.
    """

    name: str
    number: int | None
    path: str
    updates: dict[str, str]
    snapshot: Literal["none", "one", "per_market", "pages"] = "none"
    snapshot_key: str | None = None
    slugs_required: bool = False


#: Every subscription type the mock serves, by wire name.
STREAM_TYPES: dict[str, StreamType] = {
    t.name: t
    for t in (
        StreamType("SUBSCRIPTION_TYPE_ORDER", 1, PRIVATE,
                   {"order_update": "order_subscription_update"},
                   snapshot="pages", snapshot_key="order_subscription_snapshot"),
        StreamType("SUBSCRIPTION_TYPE_ORDER_SNAPSHOT", 2, PRIVATE, {},
                   snapshot="pages", snapshot_key="order_subscription_snapshot"),
        StreamType("SUBSCRIPTION_TYPE_POSITION", 3, PRIVATE, {"position": "position_subscription"}),
        StreamType("SUBSCRIPTION_TYPE_ACCOUNT_BALANCE", 4, PRIVATE,
                   {"balance": "account_balances_update"},
                   snapshot="one", snapshot_key="account_balances_snapshot"),
        StreamType("SUBSCRIPTION_TYPE_RFQ", None, PRIVATE, {"rfq": "rfq_event"}),
        StreamType("SUBSCRIPTION_TYPE_MARKET_DATA", 1, MARKETS, {"market_data": "market_data"},
                   snapshot="per_market", snapshot_key="market_data", slugs_required=True),
        StreamType("SUBSCRIPTION_TYPE_MARKET_DATA_LITE", 2, MARKETS,
                   {"market_data_lite": "market_data_lite"},
                   snapshot="per_market", snapshot_key="market_data_lite", slugs_required=True),
        StreamType("SUBSCRIPTION_TYPE_TRADE", 3, MARKETS, {"trade": "trade"}, slugs_required=True),
    )
}
