"""Test a small trading rule against the mock server with the pm_mockserver fixture.

The rule: quote a bid one tick (0.01) above the best bid when the spread is at
least two ticks, only while the market is open and the book is live; while the
connection is down the book is stale, so the rule stays quiet until the
snapshot that follows the reconnect (``event.resync``) refreshes it.

    python -m pytest examples/test_trading_rule.py

The pm_mockserver, pm_credentials fixtures come with pmsync (pytest plugin).
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pmsync
from pmsync.enums import MarketState

TICK = Decimal("0.01")


class QuoteRule:
    """Decides the bid to quote per market from the client's callbacks."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.live = False                      # is the book current?
        self.books: dict[str, pmsync.models.MarketData] = {}
        self.resyncs = 0
        self.disconnects = 0

    # callbacks (reader thread)
    def on_market_data(self, event: pmsync.Event) -> None:
        with self._cond:
            self.books[event.data.market_slug] = event.data
            self.live = True
            self.resyncs += event.resync
            self._cond.notify_all()

    def on_disconnect(self, error: object) -> None:
        with self._cond:
            self.live = False
            self.disconnects += 1
            self._cond.notify_all()

    # the rule
    def bid(self, slug: str) -> Decimal | None:
        """The price to bid on ``slug`` now, or None to stay out."""
        with self._cond:
            book = self.books.get(slug)
            if not self.live or book is None or book.state != MarketState.OPEN:
                return None
            if book.best_bid is None or book.best_ask is None:
                return None
            if book.best_ask - book.best_bid < 2 * TICK:
                return None
            return book.best_bid + TICK

    def wait(self, predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
        with self._cond:
            assert self._cond.wait_for(predicate, timeout), "condition not met in time"


def make_client(server, credentials, rule: QuoteRule) -> pmsync.MarketsClient:  # type: ignore[no-untyped-def]
    return pmsync.MarketsClient(credentials, base_url=server.url, backoff_initial=0.05,
                                on_market_data=rule.on_market_data, on_disconnect=rule.on_disconnect)


def test_quotes_one_tick_inside_a_wide_spread(pm_mockserver, pm_credentials) -> None:  # type: ignore[no-untyped-def]
    pm_mockserver.pause_ticker()                 # a still book: the test decides what changes
    slug = pm_mockserver.markets[0]
    rule = QuoteRule()
    with make_client(pm_mockserver, pm_credentials, rule) as client:
        client.subscribe_market_data([slug]).wait_snapshot(timeout=10)
        book = pm_mockserver.exchange.market_data(slug)
        best_bid = Decimal(book["bids"][0]["px"]["value"])
        best_ask = Decimal(book["offers"][0]["px"]["value"])
        expected = best_bid + TICK if best_ask - best_bid >= 2 * TICK else None
        assert rule.bid(slug) == expected


def test_a_halted_market_is_not_quoted(pm_mockserver, pm_credentials) -> None:  # type: ignore[no-untyped-def]
    pm_mockserver.pause_ticker()
    slug = pm_mockserver.markets[0]
    rule = QuoteRule()
    with make_client(pm_mockserver, pm_credentials, rule) as client:
        client.subscribe_market_data([slug]).wait_snapshot(timeout=10)
        pm_mockserver.inject_market_state(slug, "MARKET_STATE_HALTED")
        rule.wait(lambda: rule.books[slug].state != MarketState.OPEN)
        assert rule.bid(slug) is None


def test_a_dropped_connection_pauses_quoting_until_the_resync(pm_mockserver, pm_credentials) -> None:  # type: ignore[no-untyped-def]
    pm_mockserver.pause_ticker()
    slug = pm_mockserver.markets[1]
    rule = QuoteRule()
    with make_client(pm_mockserver, pm_credentials, rule) as client:
        client.subscribe_market_data([slug]).wait_snapshot(timeout=10)
        before = rule.bid(slug)
        pm_mockserver.drop_connections()         # abrupt TCP close, no close frame
        rule.wait(lambda: rule.resyncs >= 1)     # the client reconnected and resubscribed
        assert rule.disconnects == 1             # the rule went quiet meanwhile (live was False)
        assert rule.live and rule.bid(slug) == before
        assert [h.status for h in pm_mockserver.handshakes] == [101, 101]
