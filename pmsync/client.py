"""The clients users call: :class:`PrivateClient` and :class:`MarketsClient`.

A blocking API over :mod:`pmsync.connection` (I/O), :mod:`pmsync.session` /
:mod:`pmsync.codec` (protocol) and :mod:`pmsync.lifecycle` (the client's
state machine: every public method asks it what to do). One reader thread per
client decodes every frame into a typed :class:`~pmsync.codec.Event` and
dispatches it (:mod:`pmsync.dispatch`), in order:

1. the per-subscription callback given to ``subscribe_*``;
2. the client-level callback for the event's kind (``on_market_data`` …);
3. the ``messages()`` queue.

Callbacks run on the reader thread: while one runs, the stream waits (frames
queue up in the socket; this never counts as silence for the heartbeat
watchdog). Put slow work behind :meth:`messages` or a queue of your own. An
exception in a callback is logged and passed to ``on_callback_error(exc,
event)``; the reader goes on. A ``BaseException`` (``SystemExit``,
``KeyboardInterrupt``, ``GeneratorExit``) closes the client instead, and
:meth:`run_forever` / :meth:`messages` re-raise it.

Locks: the client's lock guards the lifecycle, the session and the
subscription registry; no callback and no socket write runs under it. Frames
to send go through an outbox drained under a separate send lock, in order.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Self

from . import report
from .attributes import StrictAttributes
from .auth import Credentials
from .book import BookCache, OrderBook
from .codec import Event
from .connection import Connection, ConnectionOptions
from .dispatch import KIND_CALLBACKS, MAX_MESSAGE_SIZE, Dispatcher, _FrameTap
from .enums import MarketSubscriptionType
from .errors import ConfigurationError, ConnectionClosed, PmsyncError
from .eventqueue import EventQueue, OverflowReports
from .lifecycle import Action, Cause, Input, Lifecycle, State
from .options import _endpoint_url, check_options, check_timeout
from .session import Session
from .subscribing import Subscribing
from .subscription import Subscription
from .subscription_types import (
    SUBSCRIPTION_TYPES,
    SubscribeAllMarkets,
    SubscribeMarkets,
    SubscribeNoMarkets,
    SubscriptionTable,
    install_subscribe_methods,
)

__all__ = [
    "CALLBACKS",
    "DEFAULT_BASE_URL",
    "ENV_WS_URL",
    "KIND_CALLBACKS",
    "MAX_MESSAGE_SIZE",
    "MarketsClient",
    "PrivateClient",
    "Subscription",
]

log = logging.getLogger("pmsync.client")

Callback = Callable[..., Any]

#: The ``messages()`` queue (kept under its old name for tests and tools).
_EventQueue = EventQueue

#: The callbacks that receive no data event, after the event kinds' callbacks.
_OTHER_CALLBACKS = (
    "on_error",
    "on_connect",
    "on_disconnect",
    "on_reconnect",
    "on_callback_error",
    "on_frame",
)


def _callbacks(table: SubscriptionTable) -> tuple[str, ...]:
    return tuple(table.kind_callbacks().values()) + _OTHER_CALLBACKS


#: Every callback a client accepts, as a constructor keyword or an attribute.
CALLBACKS: tuple[str, ...] = _callbacks(SUBSCRIPTION_TYPES)

#: The production base URL, used when neither ``base_url`` nor ``POLYMARKET_WS_URL`` is given.
DEFAULT_BASE_URL = "wss://api.polymarket.us"

#: Environment variable read for the base URL when a client gets no ``base_url``
#: (e.g. ``ws://127.0.0.1:PORT`` of ``python -m mockserver``).
ENV_WS_URL = "POLYMARKET_WS_URL"


class _Client(Subscribing, Dispatcher, StrictAttributes):
    """What both clients share. Use :class:`PrivateClient` or :class:`MarketsClient`.

    ``base_url`` defaults to the ``POLYMARKET_WS_URL`` environment variable, then
    to ``wss://api.polymarket.us``; the endpoint path is appended to it. Every
    name of :data:`CALLBACKS` is accepted as a keyword or set as an attribute.
    ``on_frame(text, received_at)`` sees every raw text frame (``bytes`` for a
    binary one) with its receive time (``time.time()``) before it is decoded,
    e.g. to record a session; give it before :meth:`connect`. Options are
    checked here: :class:`~pmsync.errors.ConfigurationError` names the option.

    A client is ``new``, ``connecting``, ``open``, ``reconnecting`` or
    ``closed`` (:attr:`state`); each method says what it does in each. Closed
    is final, whatever the cause (:meth:`close`, a fatal error, reconnect
    attempts exhausted, a callback's ``BaseException``): every thread ends,
    waiters wake, and methods that need a live client raise
    :class:`~pmsync.errors.ConnectionClosed` naming the cause.

    Its subscription types, their ``subscribe_*`` methods and the callbacks
    of their event kinds come from ``SUBSCRIPTION_TYPES``
    (:mod:`pmsync.subscription_types`); a subclass that sets it gets its own.
    """

    ENDPOINT: ClassVar[str]
    PATH: ClassVar[str]
    SUBSCRIPTION_TYPES: ClassVar[SubscriptionTable] = SUBSCRIPTION_TYPES
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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "SUBSCRIPTION_TYPES" in vars(cls) or "ENDPOINT" in vars(cls):
            table = cls.SUBSCRIPTION_TYPES
            cls._KIND_CALLBACKS = table.kind_callbacks()
            cls._CALLBACKS = _callbacks(table)
            install_subscribe_methods(cls, table)

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
        checked = check_options(
            heartbeat_timeout=heartbeat_timeout,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            max_reconnect_attempts=max_reconnect_attempts,
            queue_size=queue_size,
            ping_interval=ping_interval,
            connect_timeout=connect_timeout,
        )
        self._credentials = credentials
        if base_url is None:
            base_url = os.environ.get(ENV_WS_URL) or DEFAULT_BASE_URL
        self.url = _endpoint_url(base_url, self.PATH)
        self.dialect = dialect
        self._options = ConnectionOptions(
            heartbeat_timeout=checked["heartbeat_timeout"],
            reconnect=reconnect,
            backoff_initial=checked["backoff_initial"],
            backoff_max=checked["backoff_max"],
            max_reconnect_attempts=checked["max_reconnect_attempts"],
            ping_interval=checked["ping_interval"],
            connect_timeout=checked["connect_timeout"],
            sslopt=sslopt,
            http_proxy_host=http_proxy_host,
            http_proxy_port=http_proxy_port,
        )
        for name in self._CALLBACKS:
            setattr(self, name, None)
        for name, value in callbacks.items():
            if name not in self._CALLBACKS:
                raise TypeError(
                    f"unknown keyword {name!r}; callbacks are: {', '.join(self._CALLBACKS)}"
                )
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be callable, got {value!r}")
            setattr(self, name, value)
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._lifecycle = Lifecycle()
        self._session = Session(self.ENDPOINT, dialect=dialect, table=self.SUBSCRIPTION_TYPES)
        self._subscriptions: dict[int, Subscription] = {}
        self._queue = EventQueue(checked["queue_size"])
        self._overflow = OverflowReports()
        self._conn: Connection | None = None
        self._done = threading.Event()
        # connect(): the thread running it and its outcome, for close() and a second connect()
        self._connect_done = threading.Event()
        self._connect_done.set()
        self._connect_thread: int | None = None
        self._connect_error: BaseException | None = None
        # The subscription the reader is delivering an event of, and how many
        # unsubscribe() calls wait for it to finish (see _unsubscribe).
        self._in_flight: Subscription | None = None
        self._unsubscribing = 0
        # Frames to send, in order, each batch tagged with its connection.
        self._outbox: collections.deque[tuple[int, list[str]]] = collections.deque()
        self._send_lock = threading.Lock()
        self._send: Callable[[list[str]], bool] | None = None
        self._generation = 0
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
        scheme, unknown host, untrusted certificate); the client stays ``new``:
        connect() may be tried again. Without ``on_error``, each failed attempt
        is printed on stderr (:mod:`pmsync.report`). Subscriptions made before
        are sent as soon as the connection is up; the first ``on_connect`` runs
        in this thread before connect() returns.

        By state: ``new`` connects; ``connecting`` (another thread is in
        connect()) waits for that outcome and raises its error if it failed;
        ``open``/``reconnecting`` does nothing; ``closed`` raises
        :class:`~pmsync.errors.ConnectionClosed` naming the cause (also when
        the client was closed while this call connected).
        """
        timeout = check_timeout("timeout", timeout)
        with self._lock:
            action = self._lifecycle.connect_action()
            if action is Action.WAIT:
                if not self._cond.wait_for(
                    lambda: self._lifecycle.state is not State.CONNECTING, timeout
                ):
                    raise TimeoutError(
                        f"another thread's connect() did not finish within {timeout} s"
                    )
                action = self._lifecycle.connect_action()
                if action is Action.START:  # the other thread's attempt failed
                    raise ConnectionClosed(
                        f"connect() in another thread failed: {self._connect_error}"
                    ) from self._connect_error
            if action is Action.REFUSE:
                raise self._lifecycle.closed_error("connect")
            if action is Action.NOTHING:
                return
            self._lifecycle.handle(Input.CONNECT)
            conn = Connection(
                self.url,
                self.PATH,
                self._credentials,
                self._options,
                self if self.on_frame is None else _FrameTap(self),
                name=self.ENDPOINT,
            )
            self._conn = conn
            self._connect_thread = threading.get_ident()
            self._connect_done.clear()
        conn.on_attempt_failed = lambda *failed: report.attempt_failed(self, *failed)
        try:
            conn.open(timeout)
        except BaseException as exc:
            with self._lock:
                closed = self._lifecycle.closed
                if not closed:
                    self._lifecycle.handle(Input.CONNECT_FAILED)
                    self._connect_error = exc
                    self._conn = None
                self._cond.notify_all()
            conn.close()
            self._connect_done.set()
            if closed and isinstance(exc, ConnectionClosed):
                raise self._lifecycle.closed_error("connect") from exc
            raise
        self._connect_done.set()
        with self._lock:
            if self._lifecycle.closed:
                raise self._lifecycle.closed_error("connect")

    def close(self) -> None:
        """Close the connection and join the client's threads.

        Idempotent, any state, any thread, including a callback (then the
        reader stops as soon as the callback returns). It waits for a running
        connect() in another thread (and its ``on_connect``) to end. No
        callback runs after ``close()`` returns; ``on_disconnect(None)`` runs
        in it if the client was ``open``. Ends every subscription.
        """
        with self._lock:
            before = self._lifecycle.handle(Input.CLOSE)
            self._end_all()
        self._queue.close()
        self._stop_threads()
        self._done.set()
        if before is State.OPEN:
            callback = self.on_disconnect
            if callback is not None:
                try:
                    callback(None)
                except Exception:  # noqa: BLE001
                    log.exception("on_disconnect raised during close()")

    def _stop_threads(self) -> None:
        conn = self._conn
        if conn is not None:
            conn.close()
        if self._connect_thread != threading.get_ident() and not self._connect_done.is_set():
            self._connect_done.wait()  # its on_connect may still run: wait for it
            conn = self._conn
            if conn is not None:
                conn.close()  # a reader started meanwhile ends at once; join it

    def _close_now(self, what: Input, error: BaseException, report: bool = False) -> bool:
        """Close without joining (reader thread): fatal error or a callback's
        BaseException. With ``report``, the error is reported before anyone
        waiting (run_forever(), messages()) wakes. True if this closed the client."""
        with self._lock:
            before = self._lifecycle.handle(what, error)
            self._end_all()
            conn = self._conn
        first = before is not State.CLOSED
        if first and report and isinstance(error, Exception):
            self._report(error)
        if conn is not None:
            conn.stop()
        self._queue.close()
        self._done.set()
        return first

    def _end_all(self) -> None:
        """Under the lock, on closing: every subscription ends, waiters wake."""
        for subscription in self._subscriptions.values():
            subscription._live = False
        self._subscriptions.clear()
        self._session.close()
        self._outbox.clear()
        self._coverage_changed()
        self._cond.notify_all()

    def run_forever(self) -> None:
        """Block until the client is closed; connects first if ``new``.

        Returns after :meth:`close`; re-raises a fatal error (e.g.
        :class:`~pmsync.errors.AuthenticationError`, attempts exhausted) and a
        callback's ``BaseException`` (``SystemExit`` …) in this thread. Ctrl-C
        here closes the client and returns. On a closed client it returns (or
        raises the cause) at once.
        """
        try:
            if self._lifecycle.state is State.NEW:
                self.connect()
            while not self._done.wait(0.2):
                pass
        except KeyboardInterrupt as exc:
            if self._lifecycle.error is not exc:
                self.close()
                return
        self._raise_cause()

    def _raise_cause(self) -> None:
        lifecycle = self._lifecycle
        if lifecycle.cause in (Cause.FATAL, Cause.EXHAUSTED, Cause.CALLBACK):
            assert lifecycle.error is not None
            conn = self._conn
            if conn is not None:
                conn.close()  # the reader and pinger are ending: join them (not our own thread)
            raise lifecycle.error

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
        use, reported through ``on_error`` as
        :class:`~pmsync.errors.QueueOverflow` at most once per second, with
        the number dropped since the last report. Iteration ends after
        ``timeout`` seconds without an event, or once the client is closed
        and the queue drained; then a fatal error or a callback's
        ``BaseException`` is raised. Ctrl-C while it waits closes the client
        and ends the iteration, as in :meth:`run_forever`.
        """
        timeout = check_timeout("timeout", timeout)
        self._queue.in_use = True
        while True:
            try:
                event = self._queue.get(timeout)
            except KeyboardInterrupt as exc:  # Ctrl-C while waiting: close, end the loop
                if self._lifecycle.error is exc:
                    raise
                self.close()
                return
            if event is None:
                self._raise_cause()
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
    def state(self) -> str:
        """``"new"``, ``"connecting"``, ``"open"``, ``"reconnecting"`` or ``"closed"``."""
        return self._lifecycle.state.value

    @property
    def connected(self) -> bool:
        """True while a connection is up (state ``open``)."""
        return self._lifecycle.connected

    @property
    def closed(self) -> bool:
        """True once closed: :meth:`close`, a fatal error, or a callback's BaseException."""
        return self._lifecycle.closed

    @property
    def close_cause(self) -> str | None:
        """Why the client is closed (e.g. ``"closed (closed by close())"``), or ``None``."""
        return self._lifecycle.describe() if self._lifecycle.closed else None

    @property
    def _fatal(self) -> BaseException | None:
        """The error that stopped the client, unless it was closed by the user."""
        lifecycle = self._lifecycle
        return lifecycle.error if lifecycle.cause not in (None, Cause.USER) else None

    @property
    def subscriptions(self) -> list[Subscription]:
        """The live subscriptions (none once closed)."""
        with self._lock:
            return [s for s in self._subscriptions.values() if s.status == "live"]

    def stats(self) -> dict[str, Any]:
        """Counters: events per kind, frames, reconnects, dropped queue items,
        decode and callback errors, the age in seconds of the last frame, the
        state, the live subscriptions, and the server's heartbeat interval as
        the watchdog has learned it (or ``None``). Any state (counters stay
        after close)."""
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
            "connected": self._lifecycle.connected,
            "state": self._lifecycle.state.value,
            "subscriptions": len(self.subscriptions),
            "heartbeat_interval": watch.interval if watch is not None else None,
        }

    def __repr__(self) -> str:
        state = {"open": "connected", "new": "not connected"}.get(self.state, self.state)
        return (
            f"{type(self).__name__}(url={self.url!r}, key_id={self._credentials.key_id!r}, "
            f"{state})"
        )

    def _in_callback(self) -> bool:
        """True on the reader thread, and in the first on_connect (connect()'s thread)."""
        conn = self._conn
        if conn is not None and threading.current_thread() is conn.reader:
            return True
        return (
            self._lifecycle.state is State.OPEN
            and not self._connect_done.is_set()
            and self._connect_thread == threading.get_ident()
        )

    def _report(self, error: BaseException, event: Event | None = None) -> None:
        """Every error of the client goes through here: to ``on_error`` (also
        while closing for a fatal error, never after close()), or without it
        to stderr when the user must see it (:mod:`pmsync.report`)."""
        if isinstance(error, PmsyncError):
            log.warning("%s: %s", type(error).__name__, error)
        if self.on_error is None:
            report.unhandled(self, error)
            return
        self._call(self.on_error, (error,), event, force=self._lifecycle.cause is not Cause.USER)


class PrivateClient(_Client):
    """Client of ``/v1/ws/private``: orders, positions, balances and RFQ events."""

    ENDPOINT = "private"
    PATH = "/v1/ws/private"

    # Built from SUBSCRIPTION_TYPES (see _Client); declared here for type checkers.
    subscribe_orders: SubscribeAllMarkets
    subscribe_order_snapshot: SubscribeAllMarkets
    subscribe_positions: SubscribeAllMarkets
    subscribe_balances: SubscribeNoMarkets
    subscribe_rfq: SubscribeNoMarkets


class MarketsClient(_Client):
    """Client of ``/v1/ws/markets``: order books, light prices and trade prints.

    Keeps the latest book of every market it sees: :meth:`book`.
    """

    ENDPOINT = "markets"
    PATH = "/v1/ws/markets"

    # Built from SUBSCRIPTION_TYPES (see _Client); declared here for type checkers.
    subscribe_market_data: SubscribeMarkets
    subscribe_market_data_lite: SubscribeMarkets
    subscribe_trades: SubscribeMarkets

    def __init__(self, credentials: Credentials, **kwargs: Any) -> None:
        self._books = BookCache()
        super().__init__(credentials, **kwargs)

    def book(self, slug: str) -> OrderBook | None:
        """The latest book of ``slug``, or ``None``; any state (``None`` once closed).

        While a market_data subscription covers the market, its latest full
        book; otherwise the newest of market_data and market_data_lite. A
        market no subscription covers any more is forgotten.
        """
        return self._books.get(slug)

    def _coverage_changed(self) -> None:
        full: set[str] = set()
        lite: set[str] = set()
        for subscription in self._subscriptions.values():
            handle = subscription._handle
            if handle.subscription_type is MarketSubscriptionType.MARKET_DATA:
                full.update(handle.market_slugs)
            elif handle.subscription_type is MarketSubscriptionType.MARKET_DATA_LITE:
                lite.update(handle.market_slugs)
        self._books.cover(frozenset(full), frozenset(lite))

    def _on_data(self, event: Event) -> None:
        kind = event.kind
        if kind == "market_data":
            self._books.update_full(event.data)
        elif kind == "market_data_lite":
            self._books.update_lite(event.data)
