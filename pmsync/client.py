"""The clients users call: :class:`PrivateClient` and :class:`MarketsClient`.

A blocking API over :mod:`pmsync.connection` (I/O) and :mod:`pmsync.session` /
:mod:`pmsync.codec` (protocol). One reader thread per client decodes every
frame into a typed :class:`~pmsync.codec.Event` and dispatches it, in order:

1. the per-subscription callback given to ``subscribe_*``;
2. the client-level callback for the event's kind (``on_market_data`` …);
3. the ``messages()`` queue.

Callbacks run on the reader thread: while one runs, the stream waits (frames
queue up in the socket; this never counts as silence for the heartbeat
watchdog). Put slow work behind :meth:`messages` or a queue of your own. An
exception in a callback is logged and passed to ``on_callback_error(exc,
event)``; the reader goes on.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, ClassVar, Self

import attrs

from . import report
from .attributes import StrictAttributes
from .auth import Credentials
from .book import BookCache, OrderBook
from .codec import Event, decode
from .connection import OPCODE_BINARY, Connection, ConnectionOptions
from .enums import MarketSubscriptionType, PrivateSubscriptionType, SubscriptionType
from .errors import (
    ConfigurationError,
    ConnectionClosed,
    DecodeError,
    PmsyncError,
    QueueOverflow,
    SubscriptionError,
)
from .models import Order, OrderSnapshot
from .session import Handle, Session, has_snapshot

__all__ = [
    "CALLBACKS",
    "DEFAULT_BASE_URL",
    "ENV_WS_URL",
    "MAX_MESSAGE_SIZE",
    "MarketsClient",
    "PrivateClient",
    "Subscription",
]

log = logging.getLogger("pmsync.client")

Callback = Callable[..., Any]

#: Event kind → the client-level callback that receives it.
KIND_CALLBACKS: dict[str, str] = {
    "market_data": "on_market_data",
    "market_data_lite": "on_market_data_lite",
    "trade": "on_trade",
    "order_snapshot": "on_order_snapshot",
    "order_update": "on_order_update",
    "position_update": "on_position_update",
    "position_snapshot": "on_position_snapshot",
    "balance_snapshot": "on_balance_snapshot",
    "balance_update": "on_balance_update",
    "rfq_event": "on_rfq_event",
    "heartbeat": "on_heartbeat",
    "unknown": "on_unknown",
}

#: Every callback a client accepts, as a constructor keyword or an attribute.
CALLBACKS: tuple[str, ...] = tuple(KIND_CALLBACKS.values()) + (
    "on_error",
    "on_connect",
    "on_disconnect",
    "on_reconnect",
    "on_callback_error",
    "on_frame",
)

#: The production base URL, used when neither ``base_url`` nor ``POLYMARKET_WS_URL`` is given.
DEFAULT_BASE_URL = "wss://api.polymarket.us"

#: Environment variable read for the base URL when a client gets no ``base_url``
#: (e.g. ``ws://127.0.0.1:PORT`` of ``python -m mockserver``).
ENV_WS_URL = "POLYMARKET_WS_URL"

#: Messages larger than this are not decoded: they are reported through
#: ``on_error`` as a :class:`~pmsync.errors.DecodeError` and skipped. The
#: largest documented message (a 100-market snapshot page) is far below it.
MAX_MESSAGE_SIZE = 4 * 1024 * 1024


class _EventQueue:
    """The bounded queue behind ``messages()``: drops the oldest when full.

    One producer (the reader) puts without a lock: ``deque`` appends and pops
    are atomic, and the producer takes the condition's lock only to wake a
    consumer that is waiting. A consumer registers as waiting under the lock
    *before* it looks at the deque, so an event appended after its look sees
    the registration and notifies (no lost wake-up).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: collections.deque[Event] = collections.deque()
        self._cond = threading.Condition(threading.Lock())
        self._closed = False
        self._waiting = 0
        self.dropped = 0
        self.in_use = False
        self._in_burst = False

    def put(self, event: Event) -> bool:
        """Add ``event``; return True when this starts a burst of drops."""
        size = self.size
        if size <= 0:
            return False
        items = self._items
        starts_burst = False
        if len(items) >= size:
            try:
                items.popleft()
            except IndexError:  # a consumer emptied it meanwhile
                pass
            else:
                self.dropped += 1
                starts_burst = not self._in_burst
                self._in_burst = True
        elif self._in_burst:
            self._in_burst = False
        items.append(event)
        if self._waiting:
            with self._cond:
                self._cond.notify()
        return starts_burst and self.in_use

    def get(self, timeout: float | None) -> Event | None:
        """The oldest event; None on timeout or once closed and empty."""
        items = self._items
        with self._cond:
            self._waiting += 1
            try:
                if not self._cond.wait_for(lambda: items or self._closed, timeout):
                    return None
            finally:
                self._waiting -= 1
            return items.popleft() if items else None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class Subscription:
    """A handle on one logical subscription (possibly several request ids).

    Returned by the ``subscribe_*`` methods. Safe to use from any thread.
    """

    def __init__(
        self, client: _Client, handle: Handle, callback: Callback | None
    ) -> None:
        self._client = client
        self._handle = handle
        self.callback = callback
        self._snapshot: Event | None = None
        self._pages: list[Order] = []

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
        """True while subscribed and not refused by the server."""
        return self._handle.active

    @property
    def error(self) -> str | None:
        """The server's error text if it refused (part of) this subscription."""
        return self._handle.error

    @property
    def status(self) -> str:
        """``"live"``, ``"failed"`` or ``"unsubscribed"``."""
        return self._handle.status

    def unsubscribe(self) -> None:
        """End the subscription; nothing more is delivered for it. Idempotent."""
        self._client._unsubscribe(self)

    def wait_snapshot(self, timeout: float | None = 10.0) -> Event | None:
        """Block until this subscription's snapshot has arrived and return it.

        For an orders snapshot sent in pages, the event returned holds every
        page's orders. For market data over several markets it is the event
        that completed the snapshot (each market's book is its own event).
        Types without a snapshot (trades, positions, RFQ) return ``None`` at
        once. Raises :class:`SubscriptionError` with the server's text if the
        subscription was refused, ``TimeoutError`` if nothing came in time.
        """
        handle = self._handle
        if not has_snapshot(handle.subscription_type):
            if handle.error is not None:
                raise SubscriptionError(handle.error, handle.request_ids[0])
            return None
        cond = self._client._cond

        def ready() -> bool:
            return (
                handle.error is not None
                or handle.status != "live"
                or (handle.snapshot_complete and self._snapshot is not None)
                or self._client._closed
            )

        with cond:
            ok = cond.wait_for(ready, timeout)
            if handle.error is not None:
                raise SubscriptionError(
                    f"subscription {', '.join(handle.request_ids)} refused: {handle.error}",
                    handle.request_ids[0],
                )
            if handle.status != "live" and self._snapshot is None:
                raise SubscriptionError("subscription was unsubscribed", handle.request_ids[0])
            if not ok or self._snapshot is None:
                raise TimeoutError(
                    f"no snapshot for {', '.join(handle.request_ids)} within {timeout} s"
                )
            return self._snapshot

    def _on_snapshot(self, event: Event, complete: bool) -> None:
        """Called under the client's lock for every snapshot event."""
        if event.kind == "order_snapshot" and isinstance(event.data, OrderSnapshot):
            self._pages.extend(event.data.orders)
            if complete and len(self._pages) != len(event.data.orders):
                event = attrs.evolve(
                    event, data=OrderSnapshot(orders=tuple(self._pages), eof=True)
                )
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


class _Client(StrictAttributes):
    """What both clients share. Use :class:`PrivateClient` or :class:`MarketsClient`.

    ``base_url`` defaults to the ``POLYMARKET_WS_URL`` environment variable, then
    to ``wss://api.polymarket.us``; the endpoint path is appended to it. Every
    name of :data:`CALLBACKS` is accepted as a keyword or set as an attribute.
    ``on_frame(text, received_at)`` sees every raw text frame (``bytes`` for a
    binary one) with its receive time (``time.time()``) before it is decoded,
    e.g. to record a session; give it before :meth:`connect`.
    """

    ENDPOINT: ClassVar[str]
    PATH: ClassVar[str]
    _CALLBACKS: ClassVar[tuple[str, ...]] = CALLBACKS
    _ATTRIBUTES: ClassVar[frozenset[str]] = frozenset({"url", "dialect"})

    on_market_data: Callback | None
    on_market_data_lite: Callback | None
    on_trade: Callback | None
    on_order_snapshot: Callback | None
    on_order_update: Callback | None
    on_position_update: Callback | None
    on_position_snapshot: Callback | None
    on_balance_snapshot: Callback | None
    on_balance_update: Callback | None
    on_rfq_event: Callback | None
    on_heartbeat: Callback | None
    on_unknown: Callback | None
    on_error: Callback | None
    on_connect: Callback | None
    on_disconnect: Callback | None
    on_reconnect: Callback | None
    on_callback_error: Callback | None
    on_frame: Callback | None

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str | None = None,
        dialect: str = "snake",
        heartbeat_timeout: float | None = None,
        reconnect: bool = True,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        max_reconnect_attempts: int | None = None,
        queue_size: int = 10_000,
        ping_interval: float = 20.0,
        connect_timeout: float = 10.0,
        sslopt: dict[str, Any] | None = None,
        http_proxy_host: str | None = None,
        http_proxy_port: int | None = None,
        **callbacks: Callback | None,
    ) -> None:
        if not isinstance(credentials, Credentials):
            raise ConfigurationError(
                "credentials must be a pmsync.Credentials "
                "(Credentials.from_base64(key_id, secret) or Credentials.from_env())"
            )
        if dialect not in ("snake", "camel"):
            raise ConfigurationError(f"dialect must be 'snake' or 'camel', got {dialect!r}")
        for name, number in (
            ("backoff_initial", backoff_initial),
            ("backoff_max", backoff_max),
            ("connect_timeout", connect_timeout),
        ):
            if not number > 0:
                raise ConfigurationError(f"{name} must be > 0, got {number!r}")
        if heartbeat_timeout is not None and not heartbeat_timeout > 0:
            raise ConfigurationError(
                f"heartbeat_timeout must be > 0 or None, got {heartbeat_timeout!r}"
            )
        if ping_interval < 0:
            raise ConfigurationError(f"ping_interval must be >= 0, got {ping_interval!r}")
        self._credentials = credentials
        if base_url is None:
            base_url = os.environ.get(ENV_WS_URL) or DEFAULT_BASE_URL
        self.url = _endpoint_url(base_url, self.PATH)
        self.dialect = dialect
        self._options = ConnectionOptions(
            heartbeat_timeout=heartbeat_timeout,
            reconnect=reconnect,
            backoff_initial=backoff_initial,
            backoff_max=max(backoff_max, backoff_initial),
            max_reconnect_attempts=max_reconnect_attempts,
            ping_interval=ping_interval,
            connect_timeout=connect_timeout,
            sslopt=sslopt,
            http_proxy_host=http_proxy_host,
            http_proxy_port=http_proxy_port,
        )
        for name in CALLBACKS:
            setattr(self, name, None)
        for name, value in callbacks.items():
            if name not in CALLBACKS:
                raise TypeError(
                    f"unknown keyword {name!r}; callbacks are: {', '.join(CALLBACKS)}"
                )
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be callable, got {value!r}")
            setattr(self, name, value)
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._session = Session(self.ENDPOINT, dialect=dialect)
        self._subscriptions: dict[int, Subscription] = {}
        self._queue = _EventQueue(queue_size)
        self._conn: Connection | None = None
        self._online = False
        self._closed = False
        self._done = threading.Event()
        self._fatal: BaseException | None = None
        self._counts: collections.Counter[str] = collections.Counter()
        self._frames = 0
        self._decode_errors = 0
        self._callback_errors = 0

    # ------------------------------------------------------------------ lifecycle

    def connect(self, timeout: float | None = 30.0) -> None:
        """Open the connection and start the reader thread.

        Retryable failures (HTTP 429/5xx, network errors) are retried with
        backoff for up to ``timeout`` seconds. Raises
        :class:`~pmsync.errors.AuthenticationError` on HTTP 401/403,
        :class:`~pmsync.errors.HandshakeError` for other refusals and
        :class:`~pmsync.errors.ConnectionClosed` otherwise, at once for what
        retrying cannot fix (:class:`~pmsync.diagnose.Misconfigured`: wrong
        scheme, unknown host, untrusted certificate). Without ``on_error``, each
        failed attempt is printed on stderr (:mod:`pmsync.report`). Subscriptions
        made before are sent as soon as the connection is up.
        """
        with self._lock:
            if self._closed:
                raise ConnectionClosed("the client is closed; make a new one")
            if self._conn is not None:
                return
            conn = Connection(
                self.url,
                self.PATH,
                self._credentials,
                self._options,
                self if self.on_frame is None else _FrameTap(self),
                name=self.ENDPOINT,
            )
            self._conn = conn
        conn.on_attempt_failed = lambda *failed: report.attempt_failed(self, *failed)
        try:
            conn.open(timeout)
        except BaseException:
            with self._lock:
                self._conn = None
            conn.close()
            raise

    def close(self) -> None:
        """Close the connection and join the client's threads.

        Idempotent and safe from any thread, including a callback (then the
        reader stops as soon as the callback returns). No callback runs after
        ``close()`` returns.
        """
        with self._lock:
            first = not self._closed
            self._closed = True
            conn = self._conn
            was_online = self._online
            self._online = False
            self._cond.notify_all()
        self._queue.close()
        if conn is not None:
            conn.close()
        self._done.set()
        if first and was_online:
            callback = self.on_disconnect
            if callback is not None:
                try:
                    callback(None)
                except Exception:  # noqa: BLE001
                    log.exception("on_disconnect raised during close()")

    def run_forever(self) -> None:
        """Block until :meth:`close` or a fatal error, which it re-raises.

        Connects first if needed. Ctrl-C closes the client and returns.
        """
        try:
            if self._conn is None and not self._closed:
                self.connect()
            while not self._done.wait(0.2):
                pass
        except KeyboardInterrupt:
            self.close()
            return
        if self._fatal is not None:
            raise self._fatal

    def messages(self, timeout: float | None = None, *, errors: bool = False) -> Iterator[Event]:
        """Iterate events from a bounded queue fed by the reader.

        Server ``error`` responses (kind ``"error"``) are not yielded: they go
        to ``on_error`` or, without it, to stderr (see :mod:`pmsync.report`);
        ``errors=True`` yields them too (``event.data.error`` is the text).

        The queue keeps the latest ``queue_size`` events (all but heartbeats).
        Events no callback handles are queued from the first connection on;
        events a callback (the subscription's, the kind's, or ``on_error`` for
        server errors) handles are queued only once ``messages()`` has been
        called, so a callback-only script keeps none. When full, the oldest
        are dropped, counted in :meth:`stats` and, once ``messages()`` is in
        use, reported once per burst through ``on_error`` as
        :class:`~pmsync.errors.QueueOverflow`. Iteration ends after
        ``timeout`` seconds without an event, or when the client closes; a
        fatal error is raised after the queue is drained.
        """
        self._queue.in_use = True
        while True:
            event = self._queue.get(timeout)
            if event is None:
                if self._fatal is not None:
                    raise self._fatal
                return
            if event.kind == "error" and not errors:
                continue
            yield event

    def __enter__(self) -> Self:
        """Connect (if not yet connected) and return the client."""
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        """True while a connection is up."""
        return self._online

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called or a fatal error stopped the client."""
        return self._closed or self._done.is_set()

    @property
    def subscriptions(self) -> list[Subscription]:
        """The live subscriptions."""
        with self._lock:
            return [s for s in self._subscriptions.values() if s.status == "live"]

    def stats(self) -> dict[str, Any]:
        """Counters: events per kind, frames, reconnects, dropped queue items,
        decode and callback errors, the age in seconds of the last frame, and
        the server's heartbeat interval as the watchdog has learned it (or ``None``)."""
        conn = self._conn
        last = conn.last_frame if conn is not None else 0.0
        watch = conn.watchdog if conn is not None else None
        return {
            "events": dict(self._counts),
            "frames": self._frames,
            "reconnects": conn.reconnects if conn is not None else 0,
            "dropped": self._queue.dropped,
            "decode_errors": self._decode_errors,
            "callback_errors": self._callback_errors,
            "last_frame_age": (time.monotonic() - last) if last else None,
            "connected": self._online,
            "subscriptions": len(self.subscriptions),
            "heartbeat_interval": watch.interval if watch is not None else None,
        }

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("connected" if self._online else "not connected")
        return (
            f"{type(self).__name__}(url={self.url!r}, key_id={self._credentials.key_id!r}, "
            f"{state})"
        )

    # ------------------------------------------------------------------ subscriptions

    def subscribe(
        self,
        subscription_type: SubscriptionType | str | int,
        market_slugs: Iterable[str] | None = None,
        *,
        callback: Callback | None = None,
        request_id: str | None = None,
        debounced: bool = False,
    ) -> Subscription:
        """Subscribe to any type of this endpoint; see the ``subscribe_*`` methods.

        Validates before sending (``SubscriptionError``/``ValueError``/``TypeError``).
        Before :meth:`connect` the subscription is queued and sent on connect.
        """
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        with self._lock:
            if self._closed:
                raise ConnectionClosed("the client is closed")
            handle, frames = self._session.subscribe(
                subscription_type, market_slugs, request_id=request_id, debounced=debounced
            )
            subscription = Subscription(self, handle, callback)
            self._subscriptions[handle.key] = subscription
            if self._online and self._conn is not None:
                self._conn.send(frames)
        log.debug("subscribed %s as %s", handle.subscription_type.value, handle.request_ids)
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            frames = self._session.unsubscribe(subscription._handle)
            if frames and self._online and self._conn is not None:
                self._conn.send(frames)
            self._cond.notify_all()

    # ------------------------------------------------------------------ connection.Listener

    def connection_made(self, send: Callable[[list[str]], bool], reconnected: bool) -> None:
        """Connection up: replay every live subscription (internal)."""
        with self._lock:
            for subscription in self._subscriptions.values():
                subscription._reset()
            frames = self._session.resubscribe_frames(resync=reconnected)
            self._online = True
            if frames:
                send(frames)
        self._call(self.on_connect, (), None)

    def connection_lost(self, error: ConnectionClosed) -> None:
        """Connection lost (internal)."""
        with self._lock:
            self._online = False
        self._call(self.on_disconnect, (error,), None)

    def connection_restored(self, gap_began: datetime, gap_ended: datetime) -> None:
        """A new connection replaced a lost one (internal)."""
        self._call(self.on_reconnect, (gap_began, gap_ended), None)

    def connection_failed(self, error: BaseException) -> None:
        """The client cannot go on (internal)."""
        self._fatal = error
        with self._lock:
            self._online = False
            self._cond.notify_all()
        self._report(error)
        self._queue.close()
        self._done.set()

    def frame_received(self, opcode: int, data: bytes) -> None:
        """Decode one frame and dispatch it (internal; reader thread)."""
        self._frames += 1
        if len(data) > MAX_MESSAGE_SIZE:
            self._decode_errors += 1
            self._report(
                DecodeError(
                    f"message of {len(data)} bytes exceeds the {MAX_MESSAGE_SIZE}-byte limit; "
                    "not decoded",
                    data[:1024],
                )
            )
            return
        if opcode == OPCODE_BINARY:
            self._decode_errors += 1
            self._report(DecodeError("unexpected binary frame", data))
            return
        try:
            event = decode(data, self.ENDPOINT)
        except DecodeError as exc:
            self._decode_errors += 1
            self._report(exc)
            return
        try:
            self._dispatch(event)
        except Exception:  # noqa: BLE001 - a bug here must not kill the reader
            log.exception("internal error while dispatching %s", event.kind)

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self, event: Event) -> None:
        kind = event.kind
        counts = self._counts
        counts[kind] = counts.get(kind, 0) + 1
        if kind == "heartbeat":
            self._call(self.on_heartbeat, (event,), event)
            return
        subscription: Subscription | None = None
        rid = event.request_id
        # Fast path, without the lock: a live handle with its snapshot complete
        # (see Session.settled); snapshots, errors and resyncs take the lock.
        handle = self._session.settled(rid) if rid is not None and kind != "error" else None
        if handle is not None:
            subscription = self._subscriptions.get(handle.key)
        elif rid is not None:
            with self._lock:
                routed = self._session.route(event)
                if routed is not None:
                    if not routed.deliver:
                        return
                    subscription = self._subscriptions.get(routed.handle.key)
                    if routed.resync:
                        event = attrs.evolve(event, resync=True)
                    if routed.snapshot and subscription is not None:
                        subscription._on_snapshot(event, routed.snapshot_complete)
                    if routed.snapshot_complete and self._conn is not None:
                        self._conn.mark_healthy()
                    if routed.snapshot_complete or kind == "error":
                        self._cond.notify_all()
        if kind == "error":
            text = getattr(event.data, "error", "")
            rid = event.request_id
            self._report(
                report.refused(
                    rid,
                    text,
                    subscription.subscription_type.value if subscription is not None else None,
                    subscription._handle.chunks.get(rid or "", ()) if subscription is not None else (),
                ),
                event,
            )
            if self._queue.in_use or self.on_error is None:
                self._enqueue(event)
            return
        self._on_data(event)
        handled = False
        if subscription is not None and subscription.callback is not None:
            handled = True
            self._call(subscription.callback, (event,), event)
        # self._call(<the kind's callback>, (event,), event), inline
        callback = getattr(self, KIND_CALLBACKS.get(kind, "on_unknown"))
        if callback is not None:
            handled = True
            if not self._closed:
                try:
                    callback(event)
                except Exception as exc:  # noqa: BLE001 - the reader goes on
                    self._callback_failed(callback, exc, event)
        # An event a callback handled is queued only once messages() is in use:
        # a callback-only script keeps no 10,000 events alive (memory, and ~10 %
        # of the hot path in cache misses). Unhandled events are always queued,
        # so a messages() loop started after connect() still gets the snapshot.
        queue = self._queue
        if (queue.in_use or not handled) and queue.put(event):
            self._report(QueueOverflow(queue.dropped), event)

    def _on_data(self, event: Event) -> None:
        """Hook for subclasses: update caches before callbacks run."""

    def _enqueue(self, event: Event) -> None:
        if self._queue.put(event):
            self._report(QueueOverflow(self._queue.dropped), event)

    def _call(self, callback: Callback | None, args: tuple[Any, ...], event: Event | None) -> None:
        if callback is None or self._closed:
            return
        try:
            callback(*args)
        except Exception as exc:  # noqa: BLE001 - the reader goes on
            self._callback_failed(callback, exc, event)

    def _callback_failed(self, callback: Callback, exc: Exception, event: Event | None) -> None:
        self._callback_errors += 1
        log.exception("callback %s raised", getattr(callback, "__qualname__", callback))
        handler = self.on_callback_error
        if handler is None:
            report.callback_failed(self, callback, exc)
        elif handler is not callback:
            try:
                handler(exc, event)
            except Exception:  # noqa: BLE001
                log.exception("on_callback_error raised")

    def _report(self, error: BaseException, event: Event | None = None) -> None:
        """Every error of the client goes through here: to ``on_error``, or
        without it to stderr when the user must see it (:mod:`pmsync.report`)."""
        if isinstance(error, PmsyncError):
            log.warning("%s: %s", type(error).__name__, error)
        if self.on_error is None:
            report.unhandled(self, error)
            return
        self._call(self.on_error, (error,), event)


class _FrameTap:
    """The connection's listener when ``on_frame`` is set: hands each raw frame
    to ``on_frame`` and then to the client, which it stands in front of. Keeps
    the raw-frame hook out of the client's frame path when unused."""

    def __init__(self, client: _Client) -> None:
        self._client = client

    def frame_received(self, opcode: int, data: bytes) -> None:
        client = self._client
        received_at = time.time()
        frame: str | bytes = data if opcode == OPCODE_BINARY else data.decode("utf-8", "replace")
        client._call(client.on_frame, (frame, received_at), None)
        client.frame_received(opcode, data)

    def connection_made(self, send: Callable[[list[str]], bool], reconnected: bool) -> None:
        self._client.connection_made(send, reconnected)

    def connection_lost(self, error: ConnectionClosed) -> None:
        self._client.connection_lost(error)

    def connection_restored(self, gap_began: datetime, gap_ended: datetime) -> None:
        self._client.connection_restored(gap_began, gap_ended)

    def connection_failed(self, error: BaseException) -> None:
        self._client.connection_failed(error)


def _endpoint_url(base_url: str, path: str) -> str:
    if not isinstance(base_url, str) or "://" not in base_url:
        raise ConfigurationError(f"base_url must be a ws:// or wss:// URL, got {base_url!r}")
    scheme, rest = base_url.split("://", 1)
    scheme = {"http": "ws", "https": "wss"}.get(scheme.lower(), scheme.lower())
    if scheme not in ("ws", "wss"):
        raise ConfigurationError(f"base_url must be a ws:// or wss:// URL, got {base_url!r}")
    rest, _, query = rest.partition("?")
    url = f"{scheme}://{rest.rstrip('/')}{path}"
    return f"{url}?{query}" if query else url


class PrivateClient(_Client):
    """Client of ``/v1/ws/private``: orders, positions, balances and RFQ events."""

    ENDPOINT = "private"
    PATH = "/v1/ws/private"

    def subscribe_orders(
        self,
        market_slugs: Iterable[str] | None = None,
        *,
        callback: Callback | None = None,
        request_id: str | None = None,
    ) -> Subscription:
        """Orders: a snapshot of open orders (``order_snapshot``), then executions
        (``order_update``). No markets: all markets."""
        return self.subscribe(
            PrivateSubscriptionType.ORDER, market_slugs, callback=callback, request_id=request_id
        )

    def subscribe_order_snapshot(
        self,
        market_slugs: Iterable[str] | None = None,
        *,
        callback: Callback | None = None,
        request_id: str | None = None,
    ) -> Subscription:
        """A snapshot of open orders only."""
        return self.subscribe(
            PrivateSubscriptionType.ORDER_SNAPSHOT,
            market_slugs,
            callback=callback,
            request_id=request_id,
        )

    def subscribe_positions(
        self,
        market_slugs: Iterable[str] | None = None,
        *,
        callback: Callback | None = None,
        request_id: str | None = None,
    ) -> Subscription:
        """Position changes (``position_update``); no snapshot."""
        return self.subscribe(
            PrivateSubscriptionType.POSITION, market_slugs, callback=callback, request_id=request_id
        )

    def subscribe_balances(
        self, *, callback: Callback | None = None, request_id: str | None = None
    ) -> Subscription:
        """Balances: a snapshot (``balance_snapshot``), then changes (``balance_update``)."""
        return self.subscribe(
            PrivateSubscriptionType.ACCOUNT_BALANCE, callback=callback, request_id=request_id
        )

    def subscribe_rfq(
        self, *, callback: Callback | None = None, request_id: str | None = None
    ) -> Subscription:
        """RFQ and quote lifecycle events and RFQ trade prints (``rfq_event``)."""
        return self.subscribe(
            PrivateSubscriptionType.RFQ, callback=callback, request_id=request_id
        )


class MarketsClient(_Client):
    """Client of ``/v1/ws/markets``: order books, light prices and trade prints.

    Keeps the latest book of every market it sees: :meth:`book`.
    """

    ENDPOINT = "markets"
    PATH = "/v1/ws/markets"

    def __init__(self, credentials: Credentials, **kwargs: Any) -> None:
        super().__init__(credentials, **kwargs)
        self._books = BookCache()

    def book(self, slug: str) -> OrderBook | None:
        """The latest book of ``slug`` from market-data (or lite) events, or ``None``."""
        return self._books.get(slug)

    def _on_data(self, event: Event) -> None:
        kind = event.kind
        if kind == "market_data":
            self._books.update_full(event.data)
        elif kind == "market_data_lite":
            self._books.update_lite(event.data)

    def subscribe_market_data(
        self,
        market_slugs: Iterable[str],
        *,
        callback: Callback | None = None,
        debounced: bool = False,
        request_id: str | None = None,
    ) -> Subscription:
        """Full order books and stats (``market_data``), one book per market first.

        More than 100 markets are sent as several requests under one handle.
        """
        return self.subscribe(
            MarketSubscriptionType.MARKET_DATA,
            market_slugs,
            callback=callback,
            request_id=request_id,
            debounced=debounced,
        )

    def subscribe_market_data_lite(
        self,
        market_slugs: Iterable[str],
        *,
        callback: Callback | None = None,
        debounced: bool = False,
        request_id: str | None = None,
    ) -> Subscription:
        """Best bid/ask, last price and depth counts (``market_data_lite``)."""
        return self.subscribe(
            MarketSubscriptionType.MARKET_DATA_LITE,
            market_slugs,
            callback=callback,
            request_id=request_id,
            debounced=debounced,
        )

    def subscribe_trades(
        self,
        market_slugs: Iterable[str],
        *,
        callback: Callback | None = None,
        debounced: bool = False,
        request_id: str | None = None,
    ) -> Subscription:
        """Trade prints (``trade``); no snapshot."""
        return self.subscribe(
            MarketSubscriptionType.TRADE,
            market_slugs,
            callback=callback,
            request_id=request_id,
            debounced=debounced,
        )
