"""The demo account's own trading on the simulated exchange: it places orders and cancels some.

Without it the account would only ever fill the orders it starts with, and
its private stream would go quiet once they are filled. :class:`DemoTrader`
draws from the exchange's seeded random generator, so the exchange stays
deterministic.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from .ledger import TICK, ZERO, Enum, Event, Order, rfc3339

if TYPE_CHECKING:
    from .exchange import Exchange

__all__ = ["DemoTrader"]


class DemoTrader:
    """New orders near the touch and cancels for the demo account of ``exchange``."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange

    def new_order(self, slug: str, now: float, seeded: bool = False) -> Order:
        """A demo-account order near the touch on ``slug``: a sell when the position allows, else a buy.

        ``seeded``: one of the orders the account starts with (created up to a day ago).
        """
        market = self.exchange.markets[slug]
        qty = Decimal(self.exchange.rng.randint(1, 50))
        if self.exchange.rng.random() < 0.125:
            qty += Decimal("0.5")
        buy = self.exchange.rng.random() < 0.6 or self.sell_room(slug) < qty
        offset = TICK * self.exchange.rng.randint(0, 5)
        if buy:
            price = max(TICK, (market.bids[0].px if market.bids else market.last_trade_px) - offset)
        else:
            price = min(Decimal("0.99"), (market.offers[0].px if market.offers else market.last_trade_px) + offset)
        tif = "TIME_IN_FORCE_GOOD_TILL_CANCEL"
        good_till: float | None = None
        if self.exchange.rng.random() < 0.2:
            tif = "TIME_IN_FORCE_GOOD_TILL_DATE"
            good_till = now + 86_400 * self.exchange.rng.randint(1, 30)
        order_id = self.exchange._new_order_id()
        return Order(
            id=order_id,
            market_slug=slug,
            side="ORDER_SIDE_BUY" if buy else "ORDER_SIDE_SELL",
            intent="ORDER_INTENT_BUY_LONG" if buy else "ORDER_INTENT_SELL_LONG",
            price=price,
            quantity=qty,
            cum_quantity=ZERO,
            state="ORDER_STATE_NEW",
            tif=tif,
            create_time=now - self.exchange.rng.randint(60, 86_400) if seeded else now,
            good_till_time=good_till,
        )

    def sell_room(self, slug: str) -> Decimal:
        """How much of the position in ``slug`` is not already offered by open sell orders."""
        offered = sum((o.leaves_quantity for o in self.exchange.account.orders.values()
                       if o.market_slug == slug and o.side == "ORDER_SIDE_SELL"), ZERO)
        return self.exchange.account.positions[slug].net - offered

    def step(self) -> list[Event]:
        """One step of the account's trading: below its usual count of open orders it places one
        (about as often as fills complete orders), and now and then it cancels one."""
        ex = self.exchange
        orders = ex.account.orders
        open_slugs = ex.open_markets()
        if open_slugs and len(orders) < ex.open_order_count and ex.rng.random() < 0.3:
            return self.place_order(ex.rng.choice(open_slugs))
        if orders and ex.rng.random() < 0.02:
            return self.cancel(ex.rng.choice(sorted(orders)))
        return []

    def place_order(self, slug: str) -> list[Event]:
        """A new open order of the demo account on ``slug``: one order update (``EXECUTION_TYPE_NEW``).

        A buy the cash cannot cover is not placed (no event).
        """
        ex = self.exchange
        now = ex.clock()
        order = self.new_order(slug, now)
        if order.side == "ORDER_SIDE_BUY" and order.quantity * order.price > ex.account.cash - ex._reserve():
            return []
        ex.account.orders[order.id] = order
        return [self._order_event(order, "EXECUTION_TYPE_NEW", now)]

    def cancel(self, order_id: str) -> list[Event]:
        """Cancel an open order of the demo account: one order update (``EXECUTION_TYPE_CANCELED``)."""
        order = self.exchange.account.orders.pop(order_id, None)
        if order is None:
            raise KeyError(f"no open order {order_id!r}")
        order.state = "ORDER_STATE_CANCELED"
        return [self._order_event(order, "EXECUTION_TYPE_CANCELED", self.exchange.clock())]

    def _order_event(self, order: Order, execution_type: str, now: float) -> Event:
        n = self.exchange._next()
        return Event("order_update", order.market_slug, {"execution": {
            "id": f"exec-{n:06d}",
            "order": self.exchange.order_payload(order),
            "type": Enum(execution_type),
            "transact_time": rfc3339(now),
        }})
