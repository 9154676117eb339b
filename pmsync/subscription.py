"""The :class:`Subscription` handle the ``subscribe_*`` methods return."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from .codec import Event
from .enums import SubscriptionType
from .errors import SubscriptionError
from .session import Handle

if TYPE_CHECKING:
    from .client import _Client

__all__ = ["Subscription"]

Callback = Callable[..., Any]


class Subscription:
    """A handle on one logical subscription (possibly several request ids).

    Returned by the ``subscribe_*`` methods. Safe to use from any thread. It
    stays usable after it ended (``status``, ``error``, ``wait_snapshot``),
    while the client and its session have already forgotten it.
    """

    __slots__ = ("_client", "_handle", "callback", "_snapshot", "_pages", "_live")

    def __init__(self, client: _Client, handle: Handle, callback: Callback | None) -> None:
        self._client = client
        self._handle = handle
        self.callback = callback
        self._snapshot: Event | None = None
        # items of a paged snapshot's pages so far (see SubscriptionSpec.snapshot_pages)
        self._pages: list[Any] = []
        #: False once unsubscribed, refused or the client closed: read by the
        #: reader before delivering (see ``_Client._unsubscribe``).
        self._live = True

    @property
    def subscription_type(self) -> SubscriptionType:
        """The subscription type."""
        return self._handle.subscription_type

    @property
    def market_slugs(self) -> tuple[str, ...]:
        """The markets subscribed to (empty: all markets, on the private stream)."""
        return self._handle.market_slugs

    @property
    def request_ids(self) -> tuple[str, ...]:
        """The request ids on the wire (one per 100 markets)."""
        return self._handle.request_ids

    @property
    def active(self) -> bool:
        """True while subscribed and not refused by the server (false once the client closed)."""
        return self._handle.active

    @property
    def error(self) -> str | None:
        """The server's error text if it refused (part of) this subscription."""
        return self._handle.error

    @property
    def status(self) -> str:
        """``"live"``, ``"failed"`` or ``"unsubscribed"`` (also once the client closed)."""
        return self._handle.status

    def unsubscribe(self) -> None:
        """End the subscription. Idempotent; any state, any thread.

        When it returns, no callback runs for this subscription any more: a
        callback running on the reader for it is waited for (unless called
        from the reader itself, e.g. from that callback). Events of it still
        in flight are dropped, and so are its request ids: they can be used
        again. On a closed client it does nothing.
        """
        self._client._unsubscribe(self)

    def wait_snapshot(self, timeout: float | None = 10.0) -> Event | None:
        """Block until this subscription's snapshot has arrived and return it.

        For an orders snapshot sent in pages, the event returned holds every
        page's orders. For market data over several markets it is the event
        that completed the snapshot (each market's book is its own event).
        Types without a snapshot (trades, positions, RFQ) return ``None`` at
        once. A complete snapshot is returned even after the subscription or
        the client ended. Raises
        :class:`SubscriptionError` with the server's text if the subscription
        was refused (or if it was unsubscribed first),
        :class:`~pmsync.errors.ConnectionClosed` naming the cause once the
        client is closed (a fatal error wakes a blocked wait), ``TimeoutError``
        if nothing came in time, and ``RuntimeError`` when called from a
        callback (on the reader, or ``on_connect``) before the snapshot came:
        the reader that would deliver it is the one waiting.
        """
        handle = self._handle
        if not handle.spec.has_snapshot:
            if handle.error is not None:
                raise SubscriptionError(handle.error, handle.request_ids[0])
            return None
        client = self._client
        lifecycle = client._lifecycle
        cond = client._cond

        def ready() -> bool:
            return (
                handle.error is not None
                or handle.status != "live"
                or (handle.snapshot_complete and self._snapshot is not None)
                or lifecycle.closed
            )

        with cond:
            if not ready() and client._in_callback():
                raise RuntimeError(
                    "wait_snapshot() called from a callback would block the reader that "
                    "delivers the snapshot; wait from another thread, or use the "
                    "subscription's callback"
                )
            ok = cond.wait_for(ready, timeout)
            if handle.error is not None:
                raise SubscriptionError(
                    f"subscription {', '.join(handle.request_ids)} refused: {handle.error}",
                    handle.request_ids[0],
                )
            if self._snapshot is not None and (handle.snapshot_complete or handle.status != "live"):
                return self._snapshot
            if lifecycle.closed:
                raise lifecycle.closed_error("wait for a snapshot")
            if handle.status != "live":
                raise SubscriptionError("subscription was unsubscribed", handle.request_ids[0])
            if not ok:
                raise TimeoutError(
                    f"no snapshot for {', '.join(handle.request_ids)} within {timeout} s"
                )
            return self._snapshot

    def _on_snapshot(self, event: Event, complete: bool) -> None:
        """Called under the client's lock for every snapshot event."""
        field = self._handle.spec.snapshot_pages
        items = getattr(event.data, field, None) if field is not None else None
        if isinstance(items, tuple):
            self._pages.extend(items)
            if complete and len(self._pages) != len(items):
                assert field is not None
                data = attrs.evolve(event.data, **{field: tuple(self._pages)})
                event = attrs.evolve(event, data=data)
        if complete:
            self._pages = []
            self._snapshot = event

    def _reset(self) -> None:
        self._pages = []

    def __repr__(self) -> str:
        return (
            f"Subscription({self.subscription_type.value}, request_ids={self.request_ids!r}, "
            f"markets={len(self.market_slugs)}, status={self.status!r})"
        )
