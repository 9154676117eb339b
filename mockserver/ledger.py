"""The simulated exchange's data: markets, book levels, orders, positions,
the demo account, and the helpers that write their values (dialect-neutral).

Pure data, no I/O; :mod:`mockserver.exchange` moves it, :mod:`mockserver.trading`
and :mod:`mockserver.rfq` build on it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = [
    "ACCOUNT_NAME",
    "DEFAULT_MARKETS",
    "MARKET_STATES",
    "TICK",
    "ZERO",
    "Account",
    "Enum",
    "Event",
    "Level",
    "Market",
    "Order",
    "Position",
    "fmt",
    "money",
    "rfc3339",
]

#: Realistic default market slugs (Polymarket US style: league, teams, date).
DEFAULT_MARKETS: tuple[str, ...] = (
    "nba-lal-bos-2026-02-01",
    "nfl-kc-buf-2026-01-25",
    "nhl-tor-mtl-2026-01-31",
    "mlb-nyy-lad-2026-04-02",
    "fed-rate-cut-march-2026",
    "btc-above-100k-2026-03-31",
    "us-recession-2026",
)

#: Every market state name of the official SDK.
MARKET_STATES: tuple[str, ...] = (
    "MARKET_STATE_OPEN",
    "MARKET_STATE_CLOSED",
    "MARKET_STATE_PREOPEN",
    "MARKET_STATE_SUSPENDED",
    "MARKET_STATE_HALTED",
    "MARKET_STATE_EXPIRED",
    "MARKET_STATE_TERMINATED",
    "MARKET_STATE_MATCH_AND_CLOSE_AUCTION",
)

#: The price step of every market.
TICK = Decimal("0.01")
#: The demo account's name, as balance changes carry it.
ACCOUNT_NAME = "mock-account"
#: Zero, as the Decimal every quantity and amount starts from.
ZERO = Decimal(0)


class Enum(str):
    """An enum value by its wire name; the renderer picks name or number per dialect."""

    __slots__ = ()


def rfc3339(epoch: float) -> str:
    """Epoch seconds as an RFC 3339 UTC timestamp with milliseconds."""
    moment = _dt.datetime.fromtimestamp(epoch, tz=_dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fmt(value: Decimal) -> str:
    """A Decimal as a plain decimal string (never exponent notation)."""
    return format(value, "f")


def money(value: Decimal) -> dict[str, Any]:
    """An Amount: ``{"value": "<decimal>", "currency": "USD"}``."""
    return {"value": fmt(value), "currency": "USD"}


@dataclass(frozen=True)
class Event:
    """One change to publish.

    ``kind`` is one of ``market_data``, ``market_data_lite``, ``trade``,
    ``order_update``, ``position``, ``balance``, ``rfq``; ``slug`` is the
    market it concerns (``None`` for balance changes); ``payload`` is the
    neutral dict that goes under the response's payload key.
    """

    kind: str
    slug: str | None
    payload: dict[str, Any]


@dataclass
class Level:
    """One price level of a book."""

    px: Decimal
    qty: Decimal


@dataclass
class Market:
    """A simulated market: book (best first), state and stats."""

    slug: str
    title: str
    bids: list[Level]
    offers: list[Level]
    state: str
    last_trade_px: Decimal
    shares_traded: Decimal
    open_interest: Decimal
    high_px: Decimal
    low_px: Decimal
    transact_time: float


@dataclass
class Order:
    """An order of the demo account."""

    id: str
    market_slug: str
    side: str
    intent: str
    price: Decimal
    quantity: Decimal
    cum_quantity: Decimal
    state: str
    tif: str
    create_time: float
    good_till_time: float | None = None

    @property
    def leaves_quantity(self) -> Decimal:
        """Quantity still open."""
        return self.quantity - self.cum_quantity


@dataclass
class Position:
    """The demo account's position in one market."""

    market_slug: str
    net: Decimal
    qty_bought: Decimal
    qty_sold: Decimal
    cost: Decimal
    realized: Decimal
    bod: Decimal
    update_time: float


@dataclass
class Account:
    """The demo account: open orders, positions, cash."""

    orders: dict[str, Order] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    cash: Decimal = ZERO
    balance_time: float = 0.0
