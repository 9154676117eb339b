"""The fault and injection methods of :class:`~mockserver.MockServer` (a mixin of it).

Each method acts on the connection registry, the fault state or the
simulated exchange; :data:`mockserver.faults.FAULTS` exposes them on the
control API and to chaos runs.
"""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation

from .connections import Connections
from .exchange import MARKET_STATES, Event, Exchange
from .faults import BINARY_FRAME, Faults, malformed_frame, oversized_frame, unknown_payload_frame
from .publishing import Publisher

__all__ = ["CLOSE_CODES", "ServerControls"]

log = logging.getLogger("mockserver.server")

#: Close codes a server may send (RFC 6455 §7.4, and the 3000-4999 range).
CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


class ServerControls:
    """Faults (drops, closes, heartbeats, rejections, delay, odd frames, ticker) and exchange injections."""

    _connections: Connections
    _publisher: Publisher
    _faults: Faults
    _exchange: Exchange
    _known_slugs: frozenset[str]

    def drop_connections(self, path: str | None = None) -> int:
        """Abruptly close connections' TCP sockets (no close frame); returns how many."""
        targets = self._connections.targets(path)
        for conn in targets:
            conn.drop()
        log.info("dropped %d connection(s)", len(targets))
        return len(targets)

    def close_connections(self, code: int = 1000, reason: str = "", path: str | None = None) -> int:
        """Close connections with a close frame (after what is already queued); returns how many."""
        if isinstance(code, bool) or not isinstance(code, int) or not (
                code in CLOSE_CODES or 3000 <= code <= 4999):
            raise ValueError(f"invalid close code {code!r}")
        if len(reason.encode()) > 123:
            raise ValueError("close reason must be at most 123 bytes of UTF-8")
        targets = self._connections.targets(path)
        for conn in targets:
            self._connections.close(conn, code, reason)
        return len(targets)

    def stop_heartbeats(self) -> None:
        """Stop sending heartbeats (connections stay open and silent)."""
        self._faults.heartbeats_stopped = True

    def resume_heartbeats(self) -> None:
        """Send heartbeats again."""
        self._faults.heartbeats_stopped = False

    @property
    def heartbeats_stopped(self) -> bool:
        """Whether heartbeats are stopped."""
        return self._faults.heartbeats_stopped

    def reject_handshakes(
        self, count: int = 1, status: int = 503, retry_after: float | None = None, body: str | None = None
    ) -> None:
        """Reject the next ``count`` upgrade attempts with ``status`` (and ``Retry-After`` when given)."""
        self._faults.add_rejections(count, status, retry_after, body)

    def set_delay(self, seconds: float) -> None:
        """Delay every outgoing frame by ``seconds`` (0 turns the delay off)."""
        self._faults.set_delay(seconds)

    def send_frame(self, payload: str | bytes, path: str | None = None) -> int:
        """Send one frame, as is (text or binary), to each connection (on ``path``); returns how many."""
        return self._publisher.send_raw(payload, path)

    def send_malformed(self, path: str | None = None) -> int:
        """Send one text frame that is not valid JSON to each connection; returns how many."""
        return self.send_frame(malformed_frame(), path)

    def send_unknown_payload(self, path: str | None = None) -> int:
        """Send one JSON frame with an unknown payload key to each connection."""
        return self.send_frame(unknown_payload_frame(), path)

    def send_binary(self, path: str | None = None, data: bytes = BINARY_FRAME) -> int:
        """Send one binary frame to each connection."""
        return self.send_frame(bytes(data), path)

    def send_oversized(self, size: int = 2_000_000, path: str | None = None) -> int:
        """Send one valid JSON text frame of ``size`` bytes to each connection."""
        return self.send_frame(oversized_frame(size), path)

    def pause_ticker(self) -> None:
        """Stop the ticker thread's steps (``tick()`` still works)."""
        self._faults.ticker_paused = True

    def resume_ticker(self) -> None:
        """Let the ticker thread step again."""
        self._faults.ticker_paused = False

    @property
    def ticker_paused(self) -> bool:
        """Whether the ticker thread is paused."""
        return self._faults.ticker_paused

    def tick(self) -> list[Event]:
        """Run one exchange step now and send its updates; returns the events."""
        return self._publisher.apply(self._exchange.step)

    def _check_slug(self, slug: str | None) -> None:
        if slug is not None and slug not in self._known_slugs:
            raise KeyError(f"unknown market slug {slug!r}")

    def inject_trade(self, slug: str | None = None) -> list[Event]:
        """Print a market trade now (on ``slug`` or a random open market)."""
        self._check_slug(slug)
        return self._publisher.apply(lambda: self._exchange.trade(slug))

    def inject_fill(self, order_id: str | None = None) -> list[Event]:
        """Fill (part of) an open order of the demo account now: order, trade, position, balance updates."""
        return self._publisher.apply(lambda: self._exchange.fill(order_id))

    def inject_balance_change(self, amount: str | Decimal = "10.00", description: str = "Deposit") -> list[Event]:
        """Change the demo account's cash by ``amount`` now (negative: withdrawal)."""
        try:
            value = Decimal(amount)
        except (InvalidOperation, TypeError, ValueError):
            raise ValueError(f"amount must be a decimal number, got {amount!r}") from None
        if not value.is_finite():
            raise ValueError(f"amount must be finite, got {amount!r}")
        return self._publisher.apply(lambda: self._exchange.balance_change(value, description))

    def inject_market_state(self, slug: str, state_name: str) -> list[Event]:
        """Set a market's state (e.g. ``MARKET_STATE_HALTED``) now and publish its book."""
        if state_name not in MARKET_STATES:
            raise ValueError(f"unknown market state {state_name!r}; expected one of {', '.join(MARKET_STATES)}")
        if slug not in self._known_slugs:
            raise KeyError(f"unknown market slug {slug!r}")
        return self._publisher.apply(lambda: self._exchange.set_market_state(slug, state_name))

    def inject_rfq(self, slug: str | None = None) -> list[Event]:
        """Emit one RFQ event now."""
        self._check_slug(slug)
        return self._publisher.apply(lambda: self._exchange.rfq(slug))

    @property
    def open_order_ids(self) -> list[str]:
        """Ids of the demo account's open orders."""
        with self._connections.lock:
            return list(self._exchange.account.orders)
