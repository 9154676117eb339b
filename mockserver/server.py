"""The mock WebSocket server: :class:`MockServer`, the public facade.

Built on ``websockets.sync.server``. The parts: :mod:`.handshake` (upgrade
decisions and signed-header checks), :mod:`.connections` (live connections,
their handler and writer threads, subscriptions), :mod:`.publishing`
(snapshots, exchange updates, replay), :mod:`.controls` (faults and
injections), :mod:`.journal` (the bounded frame journal). One ticker thread
drives the simulated exchange. All state changes happen under one lock, so a
subscription's snapshot always comes before its first update and nothing is
lost in between.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from websockets.http11 import Response as HttpResponse
from websockets.sync.server import Server, serve

from . import control
from . import faults as _faults
from .connections import DEFAULT_MAX_QUEUE, ConnectionInfo, Connections, SubscriptionInfo, Tap
from .controls import ServerControls
from .exchange import Exchange
from .handshake import (
    HandshakeRecord,
    Handshakes,
    MockConnection,
    demo_credentials,
    http_response,
    json_response,
    ws_logger,
)
from .journal import DEFAULT_JOURNAL_SIZE, Journal, JournalEntry
from .protocol import DIALECTS
from .publishing import Publisher
from .replay import Recording, Replayer

__all__ = [
    "ConnectionInfo",
    "HandshakeRecord",
    "Journal",
    "JournalEntry",
    "MockServer",
    "SubscriptionInfo",
    "demo_credentials",
]

log = logging.getLogger("mockserver.server")

#: Problems kept for :meth:`MockServer.check_assertions` (the rest are counted).
MAX_ERRORS = 100


class MockServer(ServerControls):
    """A mock of the Polymarket US WebSocket API (both endpoints) on a local port.

    ``keys`` maps extra key ids to Ed25519 public keys (32 raw bytes or base64);
    the demo key of ``seed`` is always registered. ``clock`` (epoch seconds)
    stamps messages and checks handshake skew. ``journal_size`` bounds the
    journal (0: off). Use as a context manager or call :meth:`start`/:meth:`stop`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: int = 0,
        dialect: str = "snake",
        heartbeat_interval: float = 5.0,
        tick_interval: float = 0.5,
        auth: bool = True,
        keys: Mapping[str, bytes | str] | None = None,
        skew_seconds: float = 30,
        clock: Callable[[], float] | None = None,
        markets: Sequence[str] | None = None,
        page_size: int = 50,
        reject_replayed_signatures: bool = False,
        close_timeout: float = 2.0,
        max_message_size: int = 1 << 20,
        replay: Iterable[Recording | str | Path] | None = None,
        replay_speed: float = 1.0,
        ssl_context: ssl.SSLContext | None = None,
        open_timeout: float = 10.0,
        max_subscriptions: int = 200,
        journal_size: int = DEFAULT_JOURNAL_SIZE,
        fault_registry: _faults.FaultRegistry = _faults.FAULTS,
        max_queue: int = DEFAULT_MAX_QUEUE,
    ) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be 'snake' or 'camel', got {dialect!r}")
        for name, value in (("heartbeat_interval", heartbeat_interval), ("tick_interval", tick_interval),
                            ("open_timeout", open_timeout)):
            if not value > 0:
                raise ValueError(f"{name} must be > 0")
        for name, value, least in (("page_size", page_size, 1), ("max_subscriptions", max_subscriptions, 1),
                                   ("max_queue", max_queue, 1), ("port", port, 0)):
            if not least <= value:
                raise ValueError(f"{name} must be >= {least}")
        if port > 65535:
            raise ValueError(f"port must be between 0 and 65535, got {port}")
        self.host, self._requested_port, self.seed, self.dialect = host, port, seed, dialect
        self.heartbeat_interval, self.tick_interval = float(heartbeat_interval), float(tick_interval)
        self.auth, self.close_timeout, self.max_message_size = auth, close_timeout, max_message_size
        self.clock: Callable[[], float] = clock if clock is not None else time.time
        #: TLS: with a context the server speaks ``wss://`` (and ``https://`` for the control API).
        self.ssl_context = ssl_context
        #: Seconds a client has to complete its opening handshake (a stalled one is dropped).
        self.open_timeout = float(open_timeout)
        #: Live subscriptions allowed per connection; one more gets an ``error`` response.
        self.max_subscriptions = max_subscriptions
        #: The fault kinds of the control API and of chaos runs on this server.
        self.fault_registry = fault_registry
        self._faults = _faults.Faults()
        self._stopping = threading.Event()
        self._lock_errors = threading.Lock()
        self._errors: list[str] = []
        self._errors_dropped = 0
        self._handshakes = Handshakes(seed, keys, faults=self._faults, dialect=dialect, auth=auth,
                                      skew_seconds=skew_seconds, clock=self.clock,
                                      reject_replayed_signatures=reject_replayed_signatures, http=self._http)
        self.demo_key_id, self.demo_secret_key = self._handshakes.demo_key_id, self._handshakes.demo_secret_key
        self._exchange = Exchange(seed, markets, self.clock)
        #: Recorded sessions served on subscribe instead of the simulated exchange
        #: (``replay=`` paths or :class:`~mockserver.replay.Recording` objects; see ``--replay``).
        self.replayer = Replayer(replay, replay_speed) if replay else None
        self._known_slugs = frozenset(self._exchange.slugs) | (
            self.replayer.market_slugs if self.replayer is not None else frozenset())
        #: The most recent frames in and out (a ring of ``journal_size`` entries).
        self.journal = Journal(journal_size)
        self._connections = Connections(
            journal=self.journal, faults=self._faults, heartbeat_interval=self.heartbeat_interval,
            max_subscriptions=max_subscriptions, known_slugs=self._known_slugs, stopping=self._stopping,
            on_subscribe=lambda conn, sub: self._publisher.subscribe(conn, sub),
            record_error=self._record_error, max_queue=max_queue)
        self._publisher = Publisher(self._exchange, self._connections, self.replayer, page_size, self._stopping)
        self._server: Server | None = None
        self._threads: list[threading.Thread] = []
        self._started_at = 0.0
        self._port = 0

    # ------------------------------------------------------------- lifecycle

    def start(self) -> MockServer:
        """Bind, start accepting connections and start the ticker; returns self."""
        if self._server is not None:
            raise RuntimeError("server already started")
        registry = self._connections

        class _Bound(MockConnection):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                registry.track(self)

        self._stopping.clear()
        self._server = serve(
            registry.serve, self.host, self._requested_port,
            process_request=self._handshakes.process_request,
            process_response=self._handshakes.process_response,
            create_connection=_Bound, compression=None, ping_interval=None,
            close_timeout=self.close_timeout, open_timeout=self.open_timeout,
            max_size=self.max_message_size, ssl=self.ssl_context, logger=ws_logger,
        )
        self._port = self._server.socket.getsockname()[1]
        self._started_at = time.monotonic()
        self._threads = [
            threading.Thread(target=self._server.serve_forever, name=f"mockserver-accept-{self._port}"),
            threading.Thread(target=self._ticker, name=f"mockserver-ticker-{self._port}"),
        ]
        for thread in self._threads:
            thread.start()
        log.info("mockserver listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Close every connection with a close frame (1001), stop every thread and join it."""
        server = self._server
        if server is None:
            return
        self._stopping.set()
        self._threads[1].join()
        server.shutdown()
        self._threads[0].join()
        with self._connections.lock:
            ws_objects, self._connections.ws_objects = self._connections.ws_objects, []
        for ws in ws_objects:
            ws.close_socket()
            ws.handler_thread.join(timeout=self.close_timeout + 5)
            ws.recv_events_thread.join(timeout=self.close_timeout + 5)
        self._publisher.join(timeout=self.close_timeout + 5)
        self._server = None
        log.info("mockserver on port %d stopped", self._port)

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _ticker(self) -> None:
        while not self._stopping.wait(self.tick_interval):
            if self._faults.ticker_paused:
                continue
            try:
                self.tick()
            except Exception as exc:
                log.error("ticker step failed", exc_info=True)
                self._record_error(f"ticker step failed: {exc!r}")

    def _http(self, path: str, query: dict[str, list[str]]) -> HttpResponse | None:
        if path == "/health":
            return json_response(200, {"status": "ok", "connections": len(self.connections),
                                       "uptime_s": round(self.uptime, 3)})
        if path == "/control" or path.startswith("/control/"):
            status, content_type, body = control.handle_control(self, path, query)
            return http_response(status, body, content_type)
        return None

    @property
    def port(self) -> int:
        """The bound TCP port (0 before :meth:`start`)."""
        return self._port

    @property
    def url(self) -> str:
        """Base WebSocket URL, e.g. ``ws://127.0.0.1:54321`` (append an endpoint path)."""
        return f"{'wss' if self.ssl_context is not None else 'ws'}://{self.host}:{self._port}"

    @property
    def http_url(self) -> str:
        """Base HTTP URL of the control API, e.g. ``http://127.0.0.1:54321``."""
        return f"{'https' if self.ssl_context is not None else 'http'}://{self.host}:{self._port}"

    @property
    def uptime(self) -> float:
        """Seconds since :meth:`start`."""
        return time.monotonic() - self._started_at if self._server is not None else 0.0

    def add_key(self, key_id: str, public_key: bytes | str) -> None:
        """Register another API key (public key as 32 raw bytes or base64)."""
        self._handshakes.add_key(key_id, public_key)

    def add_tap(self, tap: Tap) -> None:
        """Call ``tap(event, conn_id, path, payload)`` for every connection opened (``open``) and
        every frame in (``in``) and out (``out``) from now on, as it happens (keep it fast)."""
        self._connections.add_tap(tap)

    def remove_tap(self, tap: Tap) -> None:
        """Stop calling ``tap``."""
        self._connections.remove_tap(tap)

    def _record_error(self, message: str) -> None:
        with self._lock_errors:
            if len(self._errors) < MAX_ERRORS:
                self._errors.append(message)
            else:
                self._errors_dropped += 1

    # ------------------------------------------------------------- inspection

    @property
    def handshakes(self) -> list[HandshakeRecord]:
        """The most recent upgrade attempts on an endpoint path (at most 10,000), accepted or not."""
        return self._handshakes.records

    @property
    def opened_connections(self) -> list[tuple[int, str]]:
        """``(conn_id, path)`` of the connections accepted since start or :meth:`clear` (the last 10,000)."""
        with self._connections.lock:
            return list(self._connections.opened)

    @property
    def connections(self) -> list[ConnectionInfo]:
        """Live connections (snapshots), oldest first."""
        return self._connections.infos()

    @property
    def markets(self) -> list[str]:
        """Slugs of the simulated markets."""
        return list(self._exchange.slugs)

    @property
    def exchange(self) -> Exchange:
        """The simulated exchange (read it under no assumption of thread safety)."""
        return self._exchange

    def wait_for_connection(self, timeout: float = 5.0, path: str | None = None) -> ConnectionInfo:
        """Wait until a live connection (on ``path``, if given) exists; return the newest."""
        return self._connections.wait_for_connection(timeout, path)

    def wait_for_subscription(
        self, subscription_type: str, timeout: float = 5.0, request_id: str | None = None
    ) -> SubscriptionInfo:
        """Wait until a live subscription of ``subscription_type`` (wire name) exists; return it."""
        return self._connections.wait_for_subscription(str(subscription_type), timeout, request_id)

    def wait_for_no_connections(self, timeout: float = 5.0) -> None:
        """Wait until no connection is live; ``TimeoutError`` otherwise."""
        self._connections.wait_for_no_connections(timeout)

    def wait_idle(self, timeout: float = 2.0) -> bool:
        """Wait (bounded) until no connection is live and their threads have finished; True if so."""
        deadline = time.monotonic() + timeout
        try:
            self.wait_for_no_connections(timeout)
        except TimeoutError:
            return False
        return self._connections.join_threads(max(0.0, deadline - time.monotonic()))

    def check_assertions(self) -> None:
        """Raise ``AssertionError`` listing every problem recorded inside the server, then forget them."""
        with self._lock_errors:
            errors, self._errors = self._errors, []
            more, self._errors_dropped = self._errors_dropped, 0
        if errors:
            raise AssertionError("mockserver recorded %d problem(s):\n  %s%s" % (
                len(errors) + more, "\n  ".join(errors), f"\n  ... and {more} more" if more else ""))

    def clear(self) -> None:
        """Close every connection, then reset exchange (re-seeded), faults, journal and handshakes."""
        self._faults.reset()
        for conn in self._connections.targets(None):
            self._connections.close(conn, 1001, "mockserver cleared")
        try:
            self.wait_for_no_connections(self.close_timeout + 2)
        except TimeoutError:
            self.drop_connections()
            self.wait_for_no_connections(self.close_timeout + 2)
        with self._connections.lock:
            self._exchange.reset()
            self.journal.clear()
            self._handshakes.clear()
            self._connections.opened.clear()
        with self._lock_errors:
            self._errors.clear()
            self._errors_dropped = 0
