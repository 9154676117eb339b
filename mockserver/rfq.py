"""The mock's RFQ desk: one request for quote at a time, through its whole lifecycle.

Pure data, like :mod:`mockserver.exchange` (which owns the clock, the random
source and the ids): each :meth:`RfqDesk.step` returns the next ``rfq_event``
payload in the neutral form (snake_case keys, ``Enum`` for enum values), with
every field of the official SDK's ``RFQ``, ``Quote`` and ``RFQTrade`` types.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .ledger import Enum, fmt, rfc3339

__all__ = ["RFQ_STAGES", "RfqDesk"]

#: The stages one RFQ walks through: two quotes answer it, one is deleted, the
#: other accepted, confirmed and executed; the anonymous trade print follows and
#: the RFQ closes.
RFQ_STAGES = ("rfq_created", "quote_created", "quote_created", "quote_deleted",
              "quote_accepted", "quote_confirmed", "quote_executed", "rfq_trade", "rfq_closed")

TICK = Decimal("0.01")
_TOP = Decimal("0.99")


class RfqDesk:
    """The current RFQ and its quotes; idle between RFQs."""

    def __init__(self) -> None:
        self.stage = 0
        self.rfq: dict[str, Any] = {}
        self.quotes: list[dict[str, Any]] = []
        self.reference_px = TICK

    @property
    def idle(self) -> bool:
        """True when no RFQ is open (the next step needs :meth:`open` first)."""
        return not self.rfq

    def open(self, symbol: str, n: int, qty: Decimal, px: Decimal, now: float) -> None:
        """Start RFQ number ``n`` for ``qty`` on ``symbol`` near price ``px``."""
        self.stage = 0
        self.quotes = []
        self.reference_px = px
        self.rfq = {
            "id": f"rfq-{n:06d}", "symbol": symbol, "rfq_creator_user_id": "user-rfq-creator",
            "created_time": rfc3339(now), "rest_remainder": False,
            "status": Enum("RFQ_STATUS_OPEN"), "updated_time": rfc3339(now),
            "combo_legs": [{"symbol": symbol, "side": Enum("SIDE_BUY"), "settlement_price": fmt(px)}],
            "qty_decimal": fmt(qty), "cash_order_qty": fmt(qty * px), "tick_size": TICK,
        }

    def step(self, now: float, next_id: Callable[[], int],
             order_id: Callable[[], str]) -> tuple[str, dict[str, Any]]:
        """The next event: ``(symbol, {variant: content})``. Needs an open RFQ."""
        stage = RFQ_STAGES[self.stage]
        self.stage += 1
        rfq, quotes = self.rfq, self.quotes
        symbol = rfq["symbol"]
        stamp = rfc3339(now)
        content: dict[str, Any]
        if stage == "rfq_created":
            content = {"rfq": dict(rfq)}
        elif stage == "quote_created":
            quotes.append(self._quote(len(quotes), stamp))
            content = {"quote": dict(quotes[-1])}
        elif stage == "quote_deleted":
            quotes[-1].update(status=Enum("QUOTE_STATUS_DELETED"), updated_time=stamp)
            content = {"quote": dict(quotes[-1])}
        elif stage == "quote_accepted":
            deadline = rfc3339(now + 30)
            quotes[0].update(status=Enum("QUOTE_STATUS_ACCEPTED"), updated_time=stamp,
                             accepted_side=Enum("SIDE_BUY"), accepted_time=stamp,
                             confirmation_deadline=deadline)
            content = {"quote": dict(quotes[0]), "confirmation_deadline": deadline}
        elif stage == "quote_confirmed":
            deadline = rfc3339(now + 30)
            quotes[0].update(status=Enum("QUOTE_STATUS_CONFIRMED"), updated_time=stamp,
                             confirmed_time=stamp, execution_deadline=deadline)
            content = {"quote": dict(quotes[0]), "execution_deadline": deadline}
        elif stage == "quote_executed":
            quotes[0].update(status=Enum("QUOTE_STATUS_EXECUTED"), updated_time=stamp,
                             executed_time=stamp)
            content = {"quote": dict(quotes[0]), "order_id": order_id(),
                       "client_order_id": f"client-{rfq['id']}", "executed_time": stamp}
        elif stage == "rfq_trade":
            content = {"trade": {
                "trade_id": f"rfq-trade-{next_id():06d}", "symbol": symbol,
                "price": quotes[0]["sell_price"], "qty_decimal": quotes[0]["buy_qty_decimal"],
                "aggressor_side": Enum("SIDE_BUY"), "executed_time": stamp}}
        else:  # rfq_closed
            rfq.update(status=Enum("RFQ_STATUS_CLOSED"), updated_time=stamp)
            content = {"rfq": dict(rfq)}
            self.rfq = {}
        return symbol, {stage: content}

    def _quote(self, k: int, stamp: str) -> dict[str, Any]:
        rfq = self.rfq
        bid = max(TICK, self.reference_px - TICK * (k + 1))
        return {
            "id": f"{rfq['id']}-quote-{k + 1}", "rfq_id": rfq["id"],
            "creator_rfq_user_id": f"user-quoter-{k + 1}", "symbol": rfq["symbol"],
            "status": Enum("QUOTE_STATUS_ACTIVE"), "created_time": stamp,
            "buy_price": fmt(bid), "sell_price": fmt(min(_TOP, bid + TICK * 2)),
            "rest_remainder": False, "post_only": True,
            "rfq_creator_user_id": rfq["rfq_creator_user_id"],
            "buy_qty_decimal": rfq["qty_decimal"], "sell_qty_decimal": rfq["qty_decimal"],
            "updated_time": stamp, "accepted_side": Enum("SIDE_UNDEFINED"),
            "accepted_time": None, "confirmed_time": None, "confirmation_deadline": None,
            "execution_deadline": None, "executed_time": None,
            "rfq_cash_order_qty": rfq["cash_order_qty"], "rfq_creator_order_id": f"order-{rfq['id']}",
            "creator_order_id": f"order-{rfq['id']}-{k + 1}",
        }
