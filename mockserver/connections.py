"""Live connections and their subscriptions: one handler and one writer thread per connection.

The handler thread reads requests and keeps the connection's subscriptions;
the writer thread sends what is queued (responses, updates, faults) and the
heartbeats, in order, and applies the delay fault. Everything a connection
holds is released when it ends; the registry keeps only live connections and
a bounded history of accepted ones. Taps (:meth:`Connections.add_tap`) see
every connection open and every frame in and out, as it happens.
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection

from .faults import Faults
from .handshake import HISTORY_SIZE, MockConnection
from .journal import Journal, JournalEntry, endpoint_alias
from .protocol import ENDPOINTS, ProtocolError, parse_request, render

__all__ = [
    "DEFAULT_MAX_QUEUE",
    "HEARTBEAT",
    "Connection",
    "ConnectionInfo",
    "Connections",
    "Subscription",
    "SubscriptionInfo",
    "endpoint",
]

log = logging.getLogger("mockserver.server")

#: The heartbeat frame the writer sends on an idle connection.
HEARTBEAT = '{"heartbeat":{}}'
#: The server checks that each of the first frames it renders on a connection is valid JSON.
CHECK_ALL = 10_000
#: Frames queued for one connection before it is dropped as a client that does not read.
DEFAULT_MAX_QUEUE = 100_000

#: ``tap(event, conn_id, path, payload)``: event ``open`` (payload ``None``), ``in`` or ``out``.
Tap = Callable[[str, int, str, "str | bytes | None"], None]


def endpoint(path: str | None) -> str | None:
    """The endpoint path of ``path`` (``private``/``markets`` accepted); ``ValueError`` if none."""
    if path is None:
        return None
    path = endpoint_alias(path)
    if path not in ENDPOINTS:
        raise ValueError(f"path must be /v1/ws/private or /v1/ws/markets, got {path!r}")
    return path


@dataclass(frozen=True)
class ConnectionInfo:
    """A snapshot of one live connection and its subscriptions (request id → (type name, slugs))."""

    id: int
    path: str
    dialect: str
    subscriptions: dict[str, tuple[str, tuple[str, ...]]]


@dataclass(frozen=True)
class SubscriptionInfo:
    """A snapshot of one live subscription."""

    conn_id: int
    path: str
    request_id: str
    subscription_type: str
    market_slugs: tuple[str, ...]


@dataclass(eq=False)
class Subscription:
    """A live subscription: request id, type (wire name), market slugs; inactive once it ends."""

    request_id: str
    type: str
    slugs: tuple[str, ...]
    active: bool = True


@dataclass(frozen=True)
class _Out:
    payload: str | bytes
    sub: Subscription | None = None
    fault: bool = False


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str


_STOP = object()


@dataclass(eq=False)
class Connection:
    """A live connection: id, socket, endpoint path, dialect, subscriptions and send queue."""

    id: int
    ws: ServerConnection
    path: str
    dialect: str
    subs: dict[str, Subscription] = field(default_factory=dict)
    queue: queue.Queue[object] = field(default_factory=queue.Queue)
    dropped: bool = False
    sent: int = 0

    def info(self) -> ConnectionInfo:
        """A snapshot."""
        return ConnectionInfo(self.id, self.path, self.dialect,
                              {rid: (s.type, s.slugs) for rid, s in self.subs.items()})

    def drop(self) -> None:
        """Shut the TCP socket down (no close frame)."""
        self.dropped = True
        try:
            self.ws.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


#: ``on_subscribe(conn, sub)`` (lock held): queue its snapshot, or return an error message to refuse it.
OnSubscribe = Callable[[Connection, Subscription], "str | None"]


class Connections:
    """The registry of live connections, their threads and subscriptions (thread-safe)."""

    def __init__(self, *, journal: Journal, faults: Faults, heartbeat_interval: float,
                 max_subscriptions: int, known_slugs: frozenset[str], stopping: threading.Event,
                 on_subscribe: OnSubscribe, record_error: Callable[[str], None],
                 max_queue: int = DEFAULT_MAX_QUEUE) -> None:
        self.journal, self.faults = journal, faults
        self.heartbeat_interval = heartbeat_interval
        self.max_subscriptions, self.max_queue = max_subscriptions, max_queue
        self.known_slugs = known_slugs
        self.stopping = stopping
        self.on_subscribe = on_subscribe
        self.record_error = record_error
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.live: dict[int, Connection] = {}
        self.opened: collections.deque[tuple[int, str]] = collections.deque(maxlen=HISTORY_SIZE)
        self.ws_objects: list[MockConnection] = []
        self._ids = itertools.count(1)
        self._taps: tuple[Tap, ...] = ()

    # ----------------------------------------------------------------- taps

    def add_tap(self, tap: Tap) -> None:
        """Call ``tap`` for every connection opened and every frame in and out from now on."""
        with self.lock:
            self._taps = (*self._taps, tap)

    def remove_tap(self, tap: Tap) -> None:
        """Stop calling ``tap``."""
        with self.lock:
            self._taps = tuple(t for t in self._taps if t is not tap)

    def _emit(self, event: str, conn: Connection, payload: str | bytes | None) -> None:
        for tap in self._taps:
            try:
                tap(event, conn.id, conn.path, payload)
            except Exception as exc:  # a broken tap is a bug to report, not a reason to stop serving
                log.error("tap %r failed", tap, exc_info=True)
                self.record_error(f"tap {tap!r} failed: {exc!r}")

    # ------------------------------------------------------------ handlers

    def track(self, ws: MockConnection) -> None:
        """Remember a new socket (so that stop() can close and join it); forget finished ones."""
        with self.lock:
            self._prune()
            self.ws_objects.append(ws)

    def _prune(self) -> None:
        self.ws_objects = [w for w in self.ws_objects
                           if w.handler_thread.is_alive() or w.recv_events_thread.is_alive()]

    def serve(self, ws: ServerConnection) -> None:
        """The handler of one accepted connection (its thread): read requests until it closes."""
        assert isinstance(ws, MockConnection)
        with self.cond:
            conn = Connection(next(self._ids), ws, ws.mock_endpoint, ws.mock_dialect)
            self.live[conn.id] = conn
            self.opened.append((conn.id, conn.path))
            self.cond.notify_all()
        self._emit("open", conn, None)
        writer = threading.Thread(target=self._writer, args=(conn,),
                                  name=f"mockserver-writer-{conn.id}", daemon=False)
        writer.start()
        log.debug("connection %d open on %s (%s)", conn.id, conn.path, conn.dialect)
        try:
            while True:
                try:
                    frame = ws.recv()
                except ConnectionClosed:
                    break
                try:
                    self._on_frame(conn, frame)
                except Exception as exc:  # a server bug: record it, keep serving
                    log.error("connection %d: request handling failed", conn.id, exc_info=True)
                    self.record_error(f"connection {conn.id}: request handling failed: {exc!r}")
        finally:
            with self.cond:
                for sub in conn.subs.values():
                    sub.active = False
                conn.subs.clear()
                self.live.pop(conn.id, None)
                self._prune()  # the sockets of connections that finished earlier (this one is still alive)
                self.cond.notify_all()
            conn.queue.put(_STOP)
            writer.join()
            log.debug("connection %d closed", conn.id)

    def _writer(self, conn: Connection) -> None:
        ws = conn.ws
        next_hb = time.monotonic() + self.heartbeat_interval
        try:
            while True:
                wait = max(0.0, next_hb - time.monotonic())
                try:
                    item = conn.queue.get(timeout=wait)
                except queue.Empty:
                    next_hb = max(next_hb + self.heartbeat_interval, time.monotonic())
                    if not self.faults.heartbeats_stopped:
                        if not self._send(conn, HEARTBEAT, fault=False):
                            return
                    continue
                if item is _STOP:
                    return
                if isinstance(item, _Close):
                    if not conn.dropped:
                        ws.close(item.code, item.reason)
                    return
                assert isinstance(item, _Out)
                if item.sub is not None and not item.sub.active:
                    continue
                if not self._send(conn, item.payload, fault=item.fault, sub=item.sub):
                    return
        except Exception as exc:
            if not conn.dropped and not self.stopping.is_set():
                log.error("connection %d: writer failed", conn.id, exc_info=True)
                self.record_error(f"connection {conn.id}: writer failed: {exc!r}")
        finally:
            while True:  # release what is still queued now rather than with the connection object
                try:
                    conn.queue.get_nowait()
                except queue.Empty:
                    break

    def _send(self, conn: Connection, payload: str | bytes, *, fault: bool,
              sub: Subscription | None = None) -> bool:
        delay = self.faults.delay
        if delay > 0:
            if self.stopping.wait(delay):
                return False
            if sub is not None and not sub.active:
                return True
        if conn.dropped:
            return False
        try:
            conn.ws.send(payload)
        except (ConnectionClosed, OSError):
            return False
        conn.sent += 1
        # every frame of a short run, then a sample: a long run pays for the check once in a hundred frames
        if not fault and isinstance(payload, str) and (conn.sent <= CHECK_ALL or conn.sent % 100 == 0):
            try:
                json.loads(payload)
            except ValueError:
                self.record_error(f"connection {conn.id}: server sent invalid JSON: {payload[:200]!r}")
        self.journal.append(JournalEntry(conn.id, conn.path, "out", time.time(), payload))
        if self._taps:
            self._emit("out", conn, payload)
        return True

    def _on_frame(self, conn: Connection, frame: str | bytes) -> None:
        self.journal.append(JournalEntry(conn.id, conn.path, "in", time.time(), frame))
        if self._taps:
            self._emit("in", conn, frame)
        if isinstance(frame, bytes):
            self.send_error(conn, "", "binary frames are not supported; send JSON text frames")
            return
        try:
            req = parse_request(frame, conn.path, self.known_slugs)
        except ProtocolError as exc:
            log.info("connection %d: bad request: %s", conn.id, exc.message)
            self.send_error(conn, exc.request_id, exc.message)
            return
        with self.cond:
            if req.action == "unsubscribe":
                sub = conn.subs.pop(req.request_id, None)
                if sub is None:
                    self.send_error(conn, req.request_id,
                                    f"unknown request id {req.request_id!r}: no live subscription to unsubscribe")
                    return
                sub.active = False
                self.cond.notify_all()
                return
            assert req.subscription_type is not None
            if req.request_id in conn.subs:
                self.send_error(conn, req.request_id, f"request id {req.request_id!r} is already live")
                return
            if len(conn.subs) >= self.max_subscriptions:
                self.send_error(conn, req.request_id,
                                f"too many subscriptions on this connection (limit {self.max_subscriptions})")
                return
            sub = Subscription(req.request_id, req.subscription_type, req.market_slugs)
            conn.subs[req.request_id] = sub
            refusal = self.on_subscribe(conn, sub)
            if refusal is not None:
                del conn.subs[req.request_id]
                sub.active = False
                self.send_error(conn, req.request_id, refusal)
            self.cond.notify_all()

    # -------------------------------------------------------------- queueing

    def put(self, conn: Connection, payload: str | bytes, sub: Subscription | None = None,
            fault: bool = False) -> None:
        """Queue one frame for ``conn`` (dropping a connection whose client stopped reading)."""
        if conn.queue.qsize() >= self.max_queue:
            if not conn.dropped:
                log.warning("connection %d: %d frames queued, its client does not read: dropped",
                            conn.id, self.max_queue)
                conn.drop()
            return
        conn.queue.put(_Out(payload, sub, fault))

    def enqueue(self, conn: Connection, message: dict[str, Any], sub: Subscription | None) -> None:
        """Render ``message`` in the connection's dialect and queue it."""
        self.put(conn, render(message, conn.dialect, conn.path), sub)

    def send_error(self, conn: Connection, request_id: str, message: str) -> None:
        """Queue an ``error`` response."""
        self.enqueue(conn, {"request_id": request_id, "error": message}, None)

    def close(self, conn: Connection, code: int, reason: str) -> None:
        """Queue a close frame (sent after what is already queued)."""
        conn.queue.put(_Close(code, reason))

    # ------------------------------------------------------------ inspection

    def targets(self, path: str | None) -> list[Connection]:
        """Live connections (on ``path``, if given), oldest first."""
        wanted = endpoint(path)
        with self.lock:
            return [self.live[k] for k in sorted(self.live) if wanted is None or self.live[k].path == wanted]

    def infos(self) -> list[ConnectionInfo]:
        """Snapshots of the live connections, oldest first."""
        with self.lock:
            return [self.live[k].info() for k in sorted(self.live)]

    def wait_for_connection(self, timeout: float, path: str | None) -> ConnectionInfo:
        """Wait until a live connection (on ``path``, if given) exists; return the newest."""
        wanted = endpoint(path)
        with self.cond:
            def ready() -> list[Connection]:
                return [c for c in self.live.values() if wanted is None or c.path == wanted]

            if not self.cond.wait_for(lambda: bool(ready()), timeout):
                raise TimeoutError(f"no connection within {timeout} s")
            return max(ready(), key=lambda c: c.id).info()

    def wait_for_subscription(self, name: str, timeout: float, request_id: str | None) -> SubscriptionInfo:
        """Wait until a live subscription of type ``name`` exists; return it."""
        def find() -> SubscriptionInfo | None:
            for cid in sorted(self.live, reverse=True):
                conn = self.live[cid]
                for sub in conn.subs.values():
                    if sub.type == name and (request_id is None or sub.request_id == request_id):
                        return SubscriptionInfo(conn.id, conn.path, sub.request_id, sub.type, sub.slugs)
            return None

        with self.cond:
            if not self.cond.wait_for(lambda: find() is not None, timeout):
                raise TimeoutError(f"no {name} subscription within {timeout} s")
            found = find()
            assert found is not None
            return found

    def wait_for_no_connections(self, timeout: float) -> None:
        """Wait until no connection is live; ``TimeoutError`` otherwise."""
        with self.cond:
            if not self.cond.wait_for(lambda: not self.live, timeout):
                raise TimeoutError(f"{len(self.live)} connection(s) still live after {timeout} s")

    def join_threads(self, timeout: float) -> bool:
        """Join the threads of finished connections (bounded); True if none is left running."""
        deadline = time.monotonic() + timeout
        with self.lock:
            ws_objects = list(self.ws_objects)
        for ws in ws_objects:
            for thread in (ws.handler_thread, ws.recv_events_thread):
                if thread is not threading.current_thread():
                    thread.join(max(0.0, deadline - time.monotonic()))
        return not any(ws.handler_thread.is_alive() or ws.recv_events_thread.is_alive() for ws in ws_objects)
