"""An order-book cache fed by market-data events (no I/O)."""

from __future__ import annotations

import threading
from datetime import datetime
from decimal import Decimal

import attrs

from .models import BookLevel, MarketData, MarketDataLite

__all__ = ["BookCache", "OrderBook"]


@attrs.frozen(slots=True, kw_only=True)
class OrderBook:
    """The latest book of one market: levels best first, and derived prices.

    From a lite event only ``best_bid``/``best_ask`` are known (``bids`` and
    ``offers`` are empty, ``full`` is false).
    """

    market_slug: str
    bids: tuple[BookLevel, ...] = ()
    offers: tuple[BookLevel, ...] = ()
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    full: bool = False
    transact_time: datetime | None = None

    @property
    def mid(self) -> Decimal | None:
        """Midpoint of best bid and best ask, or ``None`` if a side is empty."""
        if self.best_bid is None or self.best_ask is None:
            return None
        return (self.best_bid + self.best_ask) / 2

    @property
    def spread(self) -> Decimal | None:
        """Best ask minus best bid, or ``None`` if a side is empty."""
        if self.best_bid is None or self.best_ask is None:
            return None
        return self.best_ask - self.best_bid


def _sorted(levels: tuple[BookLevel, ...], reverse: bool) -> tuple[BookLevel, ...]:
    def price(level: BookLevel) -> Decimal:
        return level.px.value if level.px is not None else Decimal(0)

    # The server sends best first already; sorting keeps that promise for any input.
    return tuple(sorted(levels, key=price, reverse=reverse))


class BookCache:
    """Latest :class:`OrderBook` per market slug; safe to read from any thread.

    One thread (the client's reader) updates it. A full book is kept as the
    latest :class:`MarketData` and made into an :class:`OrderBook` (sorted best
    first) when it is first asked for, so that a stream nobody reads costs one
    dict store per event.

    Which event wins: while a ``market_data`` subscription covers a market,
    its full books (the complete, current state) and lite events do not
    replace them; otherwise the newest event of either kind is the book.
    :meth:`cover` tells the cache which markets are covered, and forgets the
    markets no subscription covers any more.
    """

    def __init__(self) -> None:
        # slug → OrderBook (from lite events) or the latest MarketData (full books)
        self._books: dict[str, OrderBook | MarketData] = {}
        # slug → (the MarketData, the OrderBook made of it): made once per event
        self._built: dict[str, tuple[MarketData, OrderBook]] = {}
        self._lock = threading.Lock()
        # markets a market_data subscription covers (lite events do not replace their book)
        self._full: frozenset[str] = frozenset()

    def update_full(self, data: MarketData) -> None:
        """Replace a market's book with a full book."""
        slug = data.market_slug
        if slug:
            self._books[slug] = data  # one atomic store; the book is made in get()

    def update_lite(self, data: MarketDataLite) -> None:
        """Set best bid/ask of a market, unless a market_data subscription covers it."""
        slug = data.market_slug
        if not slug or slug in self._full:
            return
        with self._lock:
            self._books[slug] = OrderBook(
                market_slug=slug,
                best_bid=data.best_bid.value if data.best_bid is not None else None,
                best_ask=data.best_ask.value if data.best_ask is not None else None,
            )

    def get(self, slug: str) -> OrderBook | None:
        """The latest book of ``slug``, or ``None``."""
        current = self._books.get(slug)
        if not isinstance(current, MarketData):
            return current
        built = self._built.get(slug)
        if built is not None and built[0] is current:
            return built[1]
        book = _full_book(slug, current)
        self._built[slug] = (current, book)
        return book

    def cover(self, full: frozenset[str], lite: frozenset[str]) -> None:
        """The markets covered by market_data (``full``) and lite subscriptions;
        forget every other market."""
        with self._lock:
            self._full = full
            for slug in [s for s in self._books if s not in full and s not in lite]:
                del self._books[slug]
                self._built.pop(slug, None)

    def slugs(self) -> list[str]:
        """Markets with a cached book."""
        with self._lock:
            return list(self._books)

    def clear(self) -> None:
        """Forget every book."""
        with self._lock:
            self._books.clear()
            self._built.clear()


def _full_book(slug: str, data: MarketData) -> OrderBook:
    bids = _sorted(data.bids, reverse=True)
    offers = _sorted(data.offers, reverse=False)
    return OrderBook(
        market_slug=slug,
        bids=bids,
        offers=offers,
        best_bid=bids[0].px.value if bids and bids[0].px is not None else None,
        best_ask=offers[0].px.value if offers and offers[0].px is not None else None,
        full=True,
        transact_time=data.transact_time,
    )
