"""The subscribing half of a client: ``subscribe``/``unsubscribe`` and the
ordered outbox that sends their frames outside the client lock.

:class:`Subscribing` is a mixin of :class:`pmsync.client._Client`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from .enums import SubscriptionType
from .subscription import Subscription

__all__ = ["Subscribing"]

log = logging.getLogger("pmsync.client")

Callback = Callable[..., Any]


class Subscribing:
    """Subscriptions of a client: registry, frames out, the unsubscribe guarantee."""

    def subscribe(
        self: Any,
        subscription_type: SubscriptionType | str | int,
        market_slugs: Iterable[str] | None = None,
        *,
        callback: Callback | None = None,
        request_id: str | None = None,
        debounced: bool = False,
    ) -> Subscription:
        """Subscribe to any type of this endpoint; see the ``subscribe_*`` methods.

        Validates before sending (``SubscriptionError``/``ValueError``/``TypeError``).
        By state: ``new``/``connecting``/``reconnecting`` queue the request
        (sent when the connection is up); ``open`` sends it; ``closed`` raises
        :class:`~pmsync.errors.ConnectionClosed` naming the cause.
        """
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        with self._lock:
            if self._lifecycle.closed:
                raise self._lifecycle.closed_error("subscribe")
            handle, frames = self._session.subscribe(
                subscription_type, market_slugs, request_id=request_id, debounced=debounced
            )
            subscription = Subscription(self, handle, callback)
            self._subscriptions[handle.key] = subscription
            self._coverage_changed()
            queued = self._lifecycle.sends
            if queued:
                self._outbox.append((self._generation, frames))
        if queued:
            self._flush()
        log.debug("subscribed %s as %s", handle.subscription_type.value, handle.request_ids)
        return subscription

    def _unsubscribe(self: Any, subscription: Subscription) -> None:
        with self._lock:
            subscription._live = False
            frames = self._session.unsubscribe(subscription._handle)
            if self._subscriptions.get(subscription._handle.key) is subscription:
                del self._subscriptions[subscription._handle.key]
                self._coverage_changed()
            queued = bool(frames) and self._lifecycle.sends
            if queued:
                self._outbox.append((self._generation, frames))
            self._cond.notify_all()
            conn = self._conn
            if conn is not None and threading.current_thread() is not conn.reader:
                # No callback for it after we return: wait for one in flight.
                self._unsubscribing += 1
                try:
                    self._cond.wait_for(lambda: self._in_flight is not subscription)
                finally:
                    self._unsubscribing -= 1
        if queued:
            self._flush()

    def _ended(self: Any, subscription: Subscription) -> None:
        """Under the lock: the server refused every part of ``subscription``."""
        subscription._live = False
        if self._subscriptions.get(subscription._handle.key) is subscription:
            del self._subscriptions[subscription._handle.key]
            self._coverage_changed()

    def _flush(self: Any) -> None:
        """Send the outbox in order, outside the client lock. Whoever holds the
        send lock drains it; a thread that finds it taken leaves its frames to
        the holder, which looks again after releasing it."""
        outbox = self._outbox
        while outbox:
            if not self._send_lock.acquire(blocking=False):
                return
            try:
                while True:
                    with self._lock:
                        if not outbox:
                            break
                        generation, frames = outbox.popleft()
                        send = self._send if generation == self._generation else None
                    if send is not None:
                        send(frames)
            finally:
                self._send_lock.release()

    def _coverage_changed(self) -> None:
        """Hook for subclasses (under the lock): the set of subscriptions changed."""
