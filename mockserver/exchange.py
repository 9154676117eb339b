"""The deterministic simulated exchange behind the mock server.

Pure data, no I/O: markets with order books, stats and a trading state; the
demo account's open orders, positions and balance; and a :meth:`Exchange.step`
that moves everything forward using only ``random.Random(seed)``. Every change
comes back as a list of :class:`Event` whose payloads are plain, dialect-neutral
dicts (snake_case keys, :class:`Enum` for enum values, ``Decimal`` for JSON
numbers, ``str`` for decimal strings); :mod:`mockserver.protocol` renders them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from .ledger import (
    ACCOUNT_NAME,
    DEFAULT_MARKETS,
    MARKET_STATES,
    TICK,
    ZERO,
    Account,
    Enum,
    Event,
    Level,
    Market,
    Order,
    Position,
    fmt,
    money,
    rfc3339,
)
from .rfq import RfqDesk
from .trading import DemoTrader

__all__ = [
    "DEFAULT_MARKETS",
    "MARKET_STATES",
    "Enum",
    "Event",
    "Exchange",
    "money",
    "rfc3339",
]

_FOUR = Decimal("0.0001")
_ONE = Decimal(1)


def _title(slug: str) -> str:
    return " ".join(part.upper() if len(part) <= 3 else part.capitalize() for part in slug.split("-"))


def _rounded(value: Decimal) -> str:
    return fmt(value.quantize(_ONE, rounding=ROUND_HALF_EVEN))


class Exchange:
    """The simulated exchange; deterministic for a given seed, market list and clock.

    Not thread-safe: the server serialises every call under its own lock.
    """

    def __init__(
        self,
        seed: int = 0,
        markets: Sequence[str] | None = None,
        clock: Callable[[], float] | None = None,
        open_orders: int = 64,
    ) -> None:
        slugs = list(DEFAULT_MARKETS if markets is None else markets)
        if not slugs:
            raise ValueError("the exchange needs at least one market")
        if len(set(slugs)) != len(slugs):
            raise ValueError("market slugs must be unique")
        for slug in slugs:
            if not isinstance(slug, str) or not slug or any(c.isspace() for c in slug):
                raise ValueError(f"invalid market slug {slug!r}")
        self.seed = seed
        self.slugs = slugs
        self.clock: Callable[[], float] = clock if clock is not None else _default_clock
        self.open_order_count = open_orders

        #: The demo account's own trading: new orders and cancels.
        self.trader = DemoTrader(self)
        self.reset()

    # ------------------------------------------------------------------ setup

    def reset(self) -> None:
        """Rebuild every market and the account from the seed."""
        self.rng = random.Random(self.seed)
        self._seq = 0
        self._rfq = RfqDesk()
        now = self.clock()
        self.markets: dict[str, Market] = {}
        for slug in self.slugs:
            self.markets[slug] = self._new_market(slug, now)
        self.account = Account(cash=Decimal(self.rng.randint(5_000, 20_000)) + Decimal("0.00"),
                               balance_time=now)
        for slug in self.slugs:
            net = Decimal(self.rng.randint(100, 600))
            px = self.markets[slug].last_trade_px
            self.account.positions[slug] = Position(
                market_slug=slug, net=net, qty_bought=net, qty_sold=ZERO, cost=net * px,
                realized=ZERO, bod=net, update_time=now - 3600,
            )
        for i in range(self.open_order_count):
            order = self.trader.new_order(self.slugs[i % len(self.slugs)], now, seeded=True)
            self.account.orders[order.id] = order

    def _new_market(self, slug: str, now: float) -> Market:
        rng = self.rng
        best_bid = TICK * rng.randint(8, 88)
        spread = TICK * rng.randint(1, 3)
        best_ask = best_bid + spread
        depth_b, depth_a = rng.randint(5, 10), rng.randint(5, 10)
        bids = [Level(best_bid - TICK * i, Decimal(rng.randint(50, 5000)))
                for i in range(depth_b) if best_bid - TICK * i > ZERO]
        offers = [Level(best_ask + TICK * i, Decimal(rng.randint(50, 5000)))
                  for i in range(depth_a) if best_ask + TICK * i < _ONE]
        last = best_bid + TICK * rng.randint(0, int(spread / TICK))
        return Market(
            slug=slug,
            title=_title(slug),
            bids=bids,
            offers=offers,
            state="MARKET_STATE_OPEN",
            last_trade_px=last,
            shares_traded=Decimal(rng.randint(10_000, 500_000)),
            open_interest=Decimal(rng.randint(50_000, 900_000)),
            high_px=min(Decimal("0.99"), last + TICK * rng.randint(0, 5)),
            low_px=max(TICK, last - TICK * rng.randint(0, 5)),
            transact_time=now,
        )

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _new_order_id(self) -> str:
        return f"order-{self.rng.getrandbits(48):012x}"

    # -------------------------------------------------------------- payloads

    def _metadata(self, slug: str) -> dict[str, Any]:
        market = self.markets[slug]
        event_slug = slug.rsplit("-", 1)[0] if slug.count("-") else slug
        out: dict[str, Any] = {
            "slug": slug, "icon": f"https://mock.invalid/icons/{slug}.png", "title": market.title,
            "outcome": "Yes", "event_slug": event_slug, "event_id": f"event-{event_slug}"}
        league, *rest = slug.split("-")
        if league in ("nba", "nfl", "nhl", "mlb") and rest:
            team_id = sum(map(ord, rest[0])) * 7
            out["team_id"] = team_id
            out["team"] = {
                "id": team_id, "name": rest[0].upper(), "abbreviation": rest[0].upper(),
                "league": league.upper(), "record": "10-5", "logo": f"https://mock.invalid/{rest[0]}.png",
                "alias": rest[0], "safe_name": rest[0], "color_primary": "#123456", "provider_id": 1,
                "ordering": "home", "display_abbreviation": rest[0].upper(),
                "provider_ids": [{"provider": Enum("PROVIDER_SPORTRADAR"), "provider_id": f"sr-{team_id}"}],
                "color": {"light": "#123456", "dark": "#654321"},
                "image_display_type": Enum("IMAGE_DISPLAY_TYPE_LOGO")}
            out["subject"] = {"id": team_id, "name": rest[0].upper(), "display_name": rest[0].upper(),
                              "subject_type": "team", "slug": rest[0]}
        return out

    def market_data(self, slug: str) -> dict[str, Any]:
        """The full-book payload of ``market_data`` for ``slug``."""
        m = self.markets[slug]
        return {
            "market_slug": slug,
            "bids": [{"px": money(lvl.px), "qty": fmt(lvl.qty)} for lvl in m.bids],
            "offers": [{"px": money(lvl.px), "qty": fmt(lvl.qty)} for lvl in m.offers],
            "state": Enum(m.state),
            "stats": {
                "last_trade_px": money(m.last_trade_px),
                "shares_traded": fmt(m.shares_traded),
                "open_interest": fmt(m.open_interest),
                "high_px": money(m.high_px),
                "low_px": money(m.low_px),
            },
            "transact_time": rfc3339(m.transact_time),
        }

    def market_data_lite(self, slug: str) -> dict[str, Any]:
        """The ``market_data_lite`` payload for ``slug``."""
        m = self.markets[slug]
        payload: dict[str, Any] = {"market_slug": slug}
        if m.bids and m.offers:
            payload["current_px"] = money((m.bids[0].px + m.offers[0].px) / 2)
        else:
            payload["current_px"] = money(m.last_trade_px)
        payload["last_trade_px"] = money(m.last_trade_px)
        if m.bids:
            payload["best_bid"] = money(m.bids[0].px)
        if m.offers:
            payload["best_ask"] = money(m.offers[0].px)
        payload["bid_depth"] = Decimal(len(m.bids))
        payload["ask_depth"] = Decimal(len(m.offers))
        payload["shares_traded"] = fmt(m.shares_traded)
        payload["open_interest"] = fmt(m.open_interest)
        return payload

    def order_payload(self, order: Order) -> dict[str, Any]:
        """An Order object (the official SDK's field list)."""
        out: dict[str, Any] = {
            "id": order.id,
            "market_slug": order.market_slug,
            "side": Enum(order.side),
            "type": Enum("ORDER_TYPE_LIMIT"),
            "price": money(order.price),
            "quantity": order.quantity,
            "cum_quantity": order.cum_quantity,
            "leaves_quantity": order.leaves_quantity,
            "tif": Enum(order.tif),
        }
        if order.good_till_time is not None:
            out["good_till_time"] = rfc3339(order.good_till_time)
        out["intent"] = Enum(order.intent)
        out["market_metadata"] = self._metadata(order.market_slug)
        out["state"] = Enum(order.state)
        if order.cum_quantity > ZERO:
            out["avg_px"] = money(order.price)
        out["cash_order_qty"] = money(order.price * order.quantity)
        out["insert_time"] = rfc3339(order.create_time)
        out["create_time"] = rfc3339(order.create_time)
        out["commission_notional_total_collected"] = money(ZERO)
        out["commissions_basis_points"] = "0"
        out["maker_commissions_basis_points"] = "0"
        return out

    def open_orders(self, slugs: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Open orders of the account (all, or those in ``slugs``), oldest id order."""
        wanted = set(slugs)
        return [self.order_payload(o) for o in self.account.orders.values()
                if not wanted or o.market_slug in wanted]

    def _reserve(self) -> Decimal:
        return sum((o.leaves_quantity * o.price for o in self.account.orders.values()
                    if o.side == "ORDER_SIDE_BUY"), ZERO)

    def balance(self) -> dict[str, Any]:
        """The account's Balance object (money fields are JSON numbers)."""
        reserve = self._reserve()
        acct = self.account
        return {
            "current_balance": acct.cash,
            "currency": "USD",
            "last_updated": rfc3339(acct.balance_time),
            "buying_power": acct.cash - reserve,
            "asset_notional": ZERO,
            "asset_available": acct.cash - reserve,
            "pending_credit": ZERO,
            "open_orders": reserve,
            "unsettled_funds": ZERO,
            "pending_withdrawals": [],
            "margin_requirement": ZERO,
            "balance_reservation": reserve,
            "deposit_reservation": ZERO,
            "bonus_reservation": ZERO,
            "displayed_bonus": ZERO,
            "displayed_available_soon": ZERO,
            "displayed_cash": acct.cash,
            "available_to_withdraw": acct.cash - reserve,
            "bonus_hold": ZERO,
        }

    def balances(self) -> list[dict[str, Any]]:
        """The balances list of ``account_balances_snapshot``."""
        return [self.balance()]

    def position_payload(self, pos: Position) -> dict[str, Any]:
        """A Position object (counts as decimal strings, money as Amounts)."""
        out: dict[str, Any] = {
            "net_position": _rounded(pos.net),
            "qty_bought": _rounded(pos.qty_bought),
            "qty_sold": _rounded(pos.qty_sold),
            "cost": money(pos.cost),
            "realized": money(pos.realized),
            "bod_position": _rounded(pos.bod),
            "expired": False,
            "update_time": rfc3339(pos.update_time),
            "market_metadata": self._metadata(pos.market_slug),
            "cash_value": money(pos.net * self.markets[pos.market_slug].last_trade_px),
            "qty_available": _rounded(pos.net),
            "fees": money(ZERO),
            "base_cost": money(pos.cost),
            "net_position_decimal": fmt(pos.net),
            "qty_bought_decimal": fmt(pos.qty_bought),
            "qty_sold_decimal": fmt(pos.qty_sold),
            "bod_position_decimal": fmt(pos.bod),
            "qty_available_decimal": fmt(pos.net),
            "combo_leg_details": [],
            "position_id": f"pos-{pos.market_slug}",
        }
        if pos.net != ZERO:
            out["avg_px"] = money((pos.cost / pos.net).quantize(_FOUR))
            out["cost_per_share"] = money((pos.cost / pos.net).quantize(_FOUR))
        return out

    # ----------------------------------------------------------------- steps

    def open_markets(self) -> list[str]:
        """Slugs of markets whose state is OPEN."""
        return [s for s, m in self.markets.items() if m.state == "MARKET_STATE_OPEN"]

    def book_events(self, slug: str) -> list[Event]:
        """Full book and lite events for ``slug`` as it is now."""
        return [Event("market_data", slug, self.market_data(slug)),
                Event("market_data_lite", slug, self.market_data_lite(slug))]

    def step(self) -> list[Event]:
        """One tick: book changes, maybe a trade print, maybe a fill, rarely an RFQ event."""
        rng = self.rng
        now = self.clock()
        events: list[Event] = []
        open_slugs = self.open_markets()
        if open_slugs:
            for _ in range(rng.randint(1, 2)):
                slug = rng.choice(open_slugs)
                self._mutate_book(self.markets[slug], now)
                events += self.book_events(slug)
            if rng.random() < 0.5:
                events += self.trade(rng.choice(open_slugs))
        fillable = [o.id for o in self.account.orders.values()
                    if self.markets[o.market_slug].state == "MARKET_STATE_OPEN"]
        if fillable and rng.random() < 0.3:
            events += self.fill(rng.choice(fillable))
        events += self.trader.step()
        if rng.random() < 0.05:
            events += self.rfq(rng.choice(self.slugs))
        return events

    def _mutate_book(self, m: Market, now: float) -> None:
        rng = self.rng
        m.transact_time = now
        side = m.bids if rng.random() < 0.5 else m.offers
        if side:
            lvl = side[rng.randrange(len(side))]
            lvl.qty = max(_ONE, lvl.qty + Decimal(rng.randint(-int(lvl.qty) // 2, 500)))
        if rng.random() < 0.2 and m.bids and m.offers:
            shift = TICK if rng.random() < 0.5 else -TICK
            if TICK < m.bids[-1].px + shift and m.offers[-1].px + shift < _ONE:
                for lvl in m.bids + m.offers:
                    lvl.px += shift

    def _print(self, m: Market, px: Decimal, qty: Decimal, now: float) -> None:
        m.last_trade_px = px
        m.shares_traded += qty
        m.open_interest += Decimal(self.rng.randint(0, int(qty)))
        m.high_px = max(m.high_px, px)
        m.low_px = min(m.low_px, px)
        m.transact_time = now

    def _trade_payload(self, slug: str, px: Decimal, qty: Decimal, now: float,
                       maker_side: str, maker_intent: str) -> dict[str, Any]:
        taker_side = "ORDER_SIDE_SELL" if maker_side == "ORDER_SIDE_BUY" else "ORDER_SIDE_BUY"
        taker_intent = "ORDER_INTENT_SELL_LONG" if taker_side == "ORDER_SIDE_SELL" else "ORDER_INTENT_BUY_LONG"
        return {
            "market_slug": slug,
            "price": money(px),
            "quantity": money(qty),
            "trade_time": rfc3339(now),
            "maker": {"side": Enum(maker_side), "intent": Enum(maker_intent)},
            "taker": {"side": Enum(taker_side), "intent": Enum(taker_intent)},
        }

    def trade(self, slug: str | None = None) -> list[Event]:
        """A market trade print (not the account's) on ``slug`` (or a random open market)."""
        rng = self.rng
        now = self.clock()
        if slug is None:
            candidates = self.open_markets() or list(self.slugs)
            slug = rng.choice(candidates)
        m = self.markets[slug]
        taker_buys = rng.random() < 0.5
        book = m.offers if taker_buys else m.bids
        if book:
            lvl = book[0]
            px = lvl.px
            qty = Decimal(rng.randint(1, max(1, min(int(lvl.qty), 200))))
            lvl.qty -= qty
            if lvl.qty <= ZERO:
                book.pop(0)
                last = book[-1].px if book else px
                book.append(Level(last + (TICK if taker_buys else -TICK), Decimal(rng.randint(50, 5000))))
                if not TICK <= book[-1].px < _ONE:
                    book.pop()
        else:
            px, qty = m.last_trade_px, Decimal(rng.randint(1, 100))
        self._print(m, px, qty, now)
        maker_side = "ORDER_SIDE_SELL" if taker_buys else "ORDER_SIDE_BUY"
        maker_intent = "ORDER_INTENT_SELL_LONG" if taker_buys else "ORDER_INTENT_BUY_LONG"
        payload = self._trade_payload(slug, px, qty, now, maker_side, maker_intent)
        return [Event("trade", slug, payload), *self.book_events(slug)]

    def fill(self, order_id: str | None = None) -> list[Event]:
        """Fill (part of) an open account order; ``KeyError`` if unknown, ``LookupError`` if none.

        Returns, in order: the order update (execution), the trade print, the
        book events, the position update and the balance update. They agree:
        ``last_shares * last_px`` is the balance change, the position's net
        changes by ``last_shares``, the trade print shows the same price and
        quantity.
        """
        rng = self.rng
        now = self.clock()
        if order_id is None:
            if not self.account.orders:
                raise LookupError("the demo account has no open orders left")
            order_id = rng.choice(sorted(self.account.orders))
        order = self.account.orders.get(order_id)
        if order is None:
            raise KeyError(f"no open order {order_id!r}")
        leaves = order.leaves_quantity
        whole = int(leaves)
        if whole < 1 or rng.random() < 0.3:
            qty = leaves
        else:
            qty = Decimal(rng.randint(1, whole))
        px = order.price
        notional = qty * px
        order.cum_quantity += qty
        done = order.leaves_quantity == ZERO
        order.state = "ORDER_STATE_FILLED" if done else "ORDER_STATE_PARTIALLY_FILLED"
        n = self._next()
        trade_id = f"trade-{n:06d}"
        exec_id = f"exec-{n:06d}"
        execution = {
            "execution": {
                "id": exec_id,
                "order": self.order_payload(order),
                "last_shares": fmt(qty),
                "last_px": money(px),
                "type": Enum("EXECUTION_TYPE_FILL" if done else "EXECUTION_TYPE_PARTIAL_FILL"),
                "text": "filled" if done else "partially filled",
                "transact_time": rfc3339(now),
                "trade_id": trade_id,
                "aggressor": False,
                "commission_notional_collected": money(ZERO),
            }
        }
        reserve_before = self.balance()
        if done:
            del self.account.orders[order.id]
        # position
        pos = self.account.positions[order.market_slug]
        before_pos = replace(pos)
        buy = order.side == "ORDER_SIDE_BUY"
        if buy:
            pos.net += qty
            pos.qty_bought += qty
            pos.cost += notional
        else:
            removed = pos.cost if pos.net == qty else (pos.cost * qty / pos.net).quantize(_FOUR)
            pos.net -= qty
            pos.qty_sold += qty
            pos.cost -= removed
            pos.realized += notional - removed
        pos.update_time = now
        position = {
            "before_position": self.position_payload(before_pos),
            "after_position": self.position_payload(pos),
            "update_time": rfc3339(now),
            "entry_type": Enum("LEDGER_ENTRY_TYPE_ORDER_EXECUTION"),
            "trade_id": trade_id,
            "reference_id": exec_id,
            "description": "Order execution",
            "allocation_group_id": f"alloc-{n:06d}",
            "transfer_reference_trade_ids": [trade_id],
            "short_transfer": False,
            "update_trade_date": rfc3339(now),
        }
        # balance
        self.account.cash += -notional if buy else notional
        self.account.balance_time = now
        balance = {"balance_change": {
            "before_balance": reserve_before,
            "after_balance": self.balance(),
            "description": "Order execution",
            "update_time": rfc3339(now),
            "entry_type": Enum("LEDGER_ENTRY_TYPE_ORDER_EXECUTION"),
            "modified_security_id": order.market_slug,
            "account_name": ACCOUNT_NAME,
            "id": f"ledger-{n:06d}",
        }}
        market = self.markets[order.market_slug]
        self._print(market, px, qty, now)
        maker_intent = order.intent
        trade = self._trade_payload(order.market_slug, px, qty, now, order.side, maker_intent)
        return [
            Event("order_update", order.market_slug, execution),
            Event("trade", order.market_slug, trade),
            *self.book_events(order.market_slug),
            Event("position", order.market_slug, position),
            Event("balance", None, balance),
        ]

    def balance_change(self, amount: Decimal, description: str = "Deposit") -> list[Event]:
        """A cash movement: deposit when positive, withdrawal when negative."""
        now = self.clock()
        before = self.balance()
        self.account.cash += amount
        self.account.balance_time = now
        entry = "LEDGER_ENTRY_TYPE_DEPOSIT" if amount >= ZERO else "LEDGER_ENTRY_TYPE_WITHDRAWAL"
        n = self._next()
        return [Event("balance", None, {"balance_change": {
            "before_balance": before,
            "after_balance": self.balance(),
            "description": description,
            "update_time": rfc3339(now),
            "entry_type": Enum(entry),
            "modified_security_id": "USD",
            "account_name": ACCOUNT_NAME,
            "id": f"ledger-{n:06d}",
        }})]

    def set_market_state(self, slug: str, state: str) -> list[Event]:
        """Change a market's trading state; ``KeyError``/``ValueError`` on bad input."""
        if slug not in self.markets:
            raise KeyError(f"unknown market slug {slug!r}")
        if state not in MARKET_STATES:
            raise ValueError(f"unknown market state {state!r}; expected one of {', '.join(MARKET_STATES)}")
        m = self.markets[slug]
        m.state = state
        m.transact_time = self.clock()
        return self.book_events(slug)

    def rfq(self, slug: str | None = None) -> list[Event]:
        """The next RFQ event of a whole lifecycle (see :class:`mockserver.rfq.RfqDesk`):
        a new RFQ is on ``slug`` (or a random market)."""
        now = self.clock()
        if self._rfq.idle:  # (the size comes from the id: the random source is the ticker's)
            slug = slug if slug is not None else self.rng.choice(self.slugs)
            n = self._next()
            self._rfq.open(slug, n, Decimal(1 + n * 37 % 500), self.markets[slug].last_trade_px, now)
        symbol, payload = self._rfq.step(now, self._next, self._new_order_id)
        return [Event("rfq", symbol, payload)]


def _default_clock() -> float:
    import time

    return time.time()
