"""The mock WebSocket server: transport, handshake auth, connections, subscriptions.

Built on ``websockets.sync.server``. One handler thread per connection reads
requests; one writer thread per connection sends responses, updates and
heartbeats in order (and applies the delay fault); one ticker thread drives the
simulated exchange. All state changes happen under one lock, so a subscription's
snapshot always comes before its first update and nothing is lost in between.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import http
import itertools
import json
import logging
import queue
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request as HttpRequest
from websockets.http11 import Response as HttpResponse
from websockets.sync.server import Server, ServerConnection, serve

from . import faults as _faults
from .exchange import MARKET_STATES, Enum, Event, Exchange
from .protocol import DIALECTS, ENDPOINTS, PAYLOAD_KEYS, ProtocolError, parse_request, render
from .replay import Recording, Replayer
from .replay import play as _play_replay

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

HEARTBEAT = '{"heartbeat":{}}'
_PATH_ALIASES = {"private": "/v1/ws/private", "markets": "/v1/ws/markets"}
_AUTH_HEADERS = ("X-PM-Access-Key", "X-PM-Timestamp", "X-PM-Signature")


# --------------------------------------------------------------- credentials


def demo_credentials(seed: int = 0) -> tuple[str, str]:
    """The demo API key of ``seed``: ``(key_id, secret_key_b64)``.

    The secret is the portal format, base64 of 64 bytes (32-byte seed then the
    32-byte public key); both halves are derived from ``sha256`` of the seed.
    """
    key_seed = hashlib.sha256(f"mockserver-demo-secret-{seed}".encode()).digest()
    key_id = str(uuid.UUID(bytes=hashlib.sha256(f"mockserver-demo-key-id-{seed}".encode()).digest()[:16],
                           version=4))
    public = Ed25519PrivateKey.from_private_bytes(key_seed).public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw
    )
    return key_id, base64.b64encode(key_seed + public).decode("ascii")


def _public_key(value: bytes | str) -> Ed25519PublicKey:
    raw = value
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("public key is not valid base64") from None
    if not isinstance(raw, bytes) or len(raw) != 32:
        raise ValueError("public key must be 32 raw bytes (or their base64)")
    return Ed25519PublicKey.from_public_bytes(raw)


# -------------------------------------------------------------- public records


@dataclass(frozen=True)
class JournalEntry:
    """One frame in or out: connection id, endpoint path, direction, time, raw text, parsed JSON."""

    conn_id: int
    path: str
    direction: Literal["in", "out"]
    time: float
    text: str | bytes
    data: Any | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (bytes as base64 under ``binary``)."""
        out: dict[str, Any] = {"conn_id": self.conn_id, "path": self.path,
                               "direction": self.direction, "time": self.time}
        if isinstance(self.text, bytes):
            out["binary"] = base64.b64encode(self.text).decode("ascii")
        else:
            out["text"] = self.text
        return out


class Journal:
    """Every frame in both directions, in the order it happened (thread-safe, list-like)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[JournalEntry] = []

    def append(self, entry: JournalEntry) -> None:
        """Record one frame."""
        with self._lock:
            self._entries.append(entry)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def forget(self, conn_ids: Iterable[int]) -> None:
        """Forget the entries of these connections (long runs check closed ones, then prune)."""
        ids = set(conn_ids)
        with self._lock:
            self._entries = [e for e in self._entries if e.conn_id not in ids]

    def entries(
        self, direction: str | None = None, conn_id: int | None = None, path: str | None = None
    ) -> list[JournalEntry]:
        """Entries matching every filter given (``path`` may be ``private``/``markets``)."""
        path = _PATH_ALIASES.get(path, path) if path is not None else None
        with self._lock:
            items = list(self._entries)
        return [e for e in items
                if (direction is None or e.direction == direction)
                and (conn_id is None or e.conn_id == conn_id)
                and (path is None or e.path == path)]

    def to_jsonl(self, target: str | Path | IO[str]) -> None:
        """Write every entry as one JSON object per line to a path or text file."""
        text = self.jsonl()
        if isinstance(target, (str, Path)):
            Path(target).write_text(text, encoding="utf-8")
        else:
            target.write(text)

    def jsonl(self) -> str:
        """Every entry as JSON lines."""
        with self._lock:
            items = list(self._entries)
        return "".join(json.dumps(e.to_dict()) + "\n" for e in items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Iterator[JournalEntry]:
        with self._lock:
            return iter(list(self._entries))

    def __getitem__(self, index: int) -> JournalEntry:
        with self._lock:
            return self._entries[index]

    def __repr__(self) -> str:
        return f"<Journal {len(self)} entries>"


@dataclass(frozen=True)
class HandshakeRecord:
    """One upgrade attempt on an endpoint path: the outcome and why."""

    path: str
    headers: dict[str, str]
    status: int
    reason: str
    time: float


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


# ------------------------------------------------------------------ internals


@dataclass(eq=False)
class _Subscription:
    request_id: str
    type: str
    slugs: tuple[str, ...]
    active: bool = True


@dataclass(frozen=True)
class _Out:
    payload: str | bytes
    sub: _Subscription | None = None
    fault: bool = False


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str


_STOP = object()


@dataclass(eq=False)
class _Conn:
    id: int
    ws: ServerConnection
    path: str
    dialect: str
    subs: dict[str, _Subscription] = field(default_factory=dict)
    queue: queue.Queue[object] = field(default_factory=queue.Queue)
    dropped: bool = False
    writer: threading.Thread | None = None

    def info(self) -> ConnectionInfo:
        return ConnectionInfo(self.id, self.path, self.dialect,
                              {rid: (s.type, s.slugs) for rid, s in self.subs.items()})


_ws_seq = itertools.count(1)


class _MockConnection(ServerConnection):
    """A ServerConnection that names its threads and carries handshake info."""

    mock_endpoint: str = ""
    mock_dialect: str = "snake"
    mock_reason: str = ""
    mock_record: bool = False
    mock_headers: dict[str, str]
    mock_raw_path: str = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        n = next(_ws_seq)
        threading.current_thread().name = f"mockserver-conn-{n}"
        self.handler_thread = threading.current_thread()
        super().__init__(*args, **kwargs)
        self.recv_events_thread.name = f"mockserver-recv-{n}"
        self.mock_headers = {}


class _RedactSignatures(logging.Filter):
    """Keep handshake signatures out of websockets' DEBUG header dumps."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 2 and str(args[0]).lower() == "x-pm-signature":
            record.args = (args[0], "<redacted>")
        return True


_ws_logger = logging.getLogger("mockserver.websockets")
_ws_logger.addFilter(_RedactSignatures())


def _response(
    status: int, body: str | bytes, content_type: str = "text/plain; charset=utf-8",
    extra: Iterable[tuple[str, str]] = (),
) -> HttpResponse:
    data = body.encode() if isinstance(body, str) else body
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    headers = Headers([
        ("Date", email.utils.formatdate(usegmt=True)),
        ("Connection", "close"),
        ("Content-Length", str(len(data))),
        ("Content-Type", content_type),
        *extra,
    ])
    return HttpResponse(status, phrase, headers, data)


def _json_response(status: int, obj: Any) -> HttpResponse:
    return _response(status, json.dumps(obj) + "\n", "application/json")


def _endpoint(path: str | None) -> str | None:
    if path is None:
        return None
    path = _PATH_ALIASES.get(path, path)
    if path not in ENDPOINTS:
        raise ValueError(f"path must be /v1/ws/private or /v1/ws/markets, got {path!r}")
    return path


# --------------------------------------------------------------------- server


class MockServer:
    """A mock of the Polymarket US WebSocket API (both endpoints) on a local port.

    ``keys`` maps extra key ids to Ed25519 public keys (32 raw bytes or base64);
    the demo key of ``seed`` is always registered. ``clock`` (epoch seconds)
    stamps messages and checks handshake skew. Use as a context manager or call
    :meth:`start`/:meth:`stop`.
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
    ) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be 'snake' or 'camel', got {dialect!r}")
        if not heartbeat_interval > 0:
            raise ValueError("heartbeat_interval must be > 0")
        if not tick_interval > 0:
            raise ValueError("tick_interval must be > 0")
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        if not open_timeout > 0:
            raise ValueError("open_timeout must be > 0")
        if max_subscriptions < 1:
            raise ValueError("max_subscriptions must be >= 1")
        self.host = host
        self._requested_port = port
        self.seed = seed
        self.dialect = dialect
        self.heartbeat_interval = float(heartbeat_interval)
        self.tick_interval = float(tick_interval)
        self.auth = auth
        self.skew_seconds = float(skew_seconds)
        self.clock: Callable[[], float] = clock if clock is not None else time.time
        self.page_size = page_size
        self.reject_replayed_signatures = reject_replayed_signatures
        self.close_timeout = close_timeout
        self.max_message_size = max_message_size
        #: TLS: with a context the server speaks ``wss://`` (and ``https://`` for the control API).
        self.ssl_context = ssl_context
        #: Seconds a client has to complete its opening handshake (a stalled one is dropped).
        self.open_timeout = float(open_timeout)
        #: Live subscriptions allowed per connection; one more gets an ``error`` response.
        self.max_subscriptions = max_subscriptions
        self._opened: list[tuple[int, str]] = []
        self.demo_key_id, self.demo_secret_key = demo_credentials(seed)
        self._keys: dict[str, Ed25519PublicKey] = {}
        demo_public = base64.b64decode(self.demo_secret_key)[32:]
        self._keys[self.demo_key_id] = _public_key(demo_public)
        for key_id, public in (keys or {}).items():
            self._keys[key_id] = _public_key(public)
        self._exchange = Exchange(seed, markets, self.clock)
        self._known_slugs = frozenset(self._exchange.slugs)
        #: Recorded sessions served on subscribe instead of the simulated exchange
        #: (``replay=`` paths or :class:`~mockserver.replay.Recording` objects; see ``--replay``).
        self.replayer = Replayer(replay, replay_speed) if replay else None
        if self.replayer is not None:
            self._known_slugs = self._known_slugs | self.replayer.market_slugs
        self._faults = _faults.Faults()
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._conns: dict[int, _Conn] = {}
        self._conn_ids = itertools.count(1)
        self._seen_signatures: set[str] = set()
        self._errors: list[str] = []
        self._ws_objects: list[_MockConnection] = []
        self._aux_threads: list[threading.Thread] = []
        self.journal = Journal()
        self._handshakes: list[HandshakeRecord] = []
        self._server: Server | None = None
        self._accept_thread: threading.Thread | None = None
        self._ticker_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._started_at = 0.0
        self._port = 0

    # ------------------------------------------------------------- lifecycle

    def start(self) -> MockServer:
        """Bind, start accepting connections and start the ticker; returns self."""
        if self._server is not None:
            raise RuntimeError("server already started")
        owner = self

        class _Bound(_MockConnection):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                owner._track(self)

        self._stopping.clear()
        self._server = serve(
            self._handler,
            self.host,
            self._requested_port,
            process_request=self._process_request,
            process_response=self._process_response,
            create_connection=_Bound,
            compression=None,
            ping_interval=None,
            close_timeout=self.close_timeout,
            open_timeout=self.open_timeout,
            max_size=self.max_message_size,
            ssl=self.ssl_context,
            logger=_ws_logger,
        )
        self._port = self._server.socket.getsockname()[1]
        self._started_at = time.monotonic()
        self._accept_thread = threading.Thread(
            target=self._server.serve_forever, name=f"mockserver-accept-{self._port}", daemon=False
        )
        self._accept_thread.start()
        self._ticker_thread = threading.Thread(
            target=self._ticker, name=f"mockserver-ticker-{self._port}", daemon=False
        )
        self._ticker_thread.start()
        log.info("mockserver listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Close every connection with a close frame (1001), stop every thread and join it."""
        server = self._server
        if server is None:
            return
        self._stopping.set()
        if self._ticker_thread is not None:
            self._ticker_thread.join()
        server.shutdown()
        if self._accept_thread is not None:
            self._accept_thread.join()
        with self._lock:
            ws_objects = list(self._ws_objects)
            aux = list(self._aux_threads)
            self._ws_objects.clear()
            self._aux_threads.clear()
        for ws in ws_objects:
            ws.close_socket()
            ws.handler_thread.join(timeout=self.close_timeout + 5)
            ws.recv_events_thread.join(timeout=self.close_timeout + 5)
        for thread in aux:
            thread.join(timeout=self.close_timeout + 5)
        self._server = None
        log.info("mockserver on port %d stopped", self._port)

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

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
        with self._lock:
            self._keys[key_id] = _public_key(public_key)

    def _track(self, ws: _MockConnection) -> None:
        with self._lock:
            self._ws_objects = [w for w in self._ws_objects
                                if w.handler_thread.is_alive() or w.recv_events_thread.is_alive()]
            self._ws_objects.append(ws)

    def _record_error(self, message: str) -> None:
        with self._lock:
            self._errors.append(message)

    # ------------------------------------------------------------ handshake

    def _process_request(self, ws: ServerConnection, request: HttpRequest) -> HttpResponse | None:
        assert isinstance(ws, _MockConnection)
        parts = urlsplit(request.path)
        path = parts.path
        query = parse_qs(parts.query, keep_blank_values=True)
        if path == "/health":
            return _json_response(200, {"status": "ok", "connections": len(self.connections),
                                        "uptime_s": round(self.uptime, 3)})
        if path == "/control" or path.startswith("/control/"):
            from .control import handle_control

            status, content_type, body = handle_control(self, path, query)
            return _response(status, body, content_type)
        if path not in ENDPOINTS:
            return _response(404, f"not found: {path} (endpoints: /v1/ws/private, /v1/ws/markets)\n")
        ws.mock_record = True
        ws.mock_raw_path = request.path
        ws.mock_endpoint = path
        ws.mock_headers = {k: v for k, v in request.headers.raw_items()}
        if "websocket" not in request.headers.get("Upgrade", "").lower():
            ws.mock_reason = "not a WebSocket upgrade"
            return None  # websockets answers 426 Upgrade Required
        rejection = self._faults.take_rejection()
        if rejection is not None:
            ws.mock_reason = f"fault injection: rejected with {rejection.status}"
            extra = []
            if rejection.retry_after is not None:
                ra = rejection.retry_after
                extra.append(("Retry-After", str(int(ra)) if float(ra).is_integer() else str(ra)))
            return _response(rejection.status, rejection.body, extra=extra)
        dialects = query.get("dialect")
        dialect = self.dialect
        if dialects:
            dialect = dialects[-1]
            if dialect not in DIALECTS:
                ws.mock_reason = f"unknown dialect {dialect!r}"
                return _response(400, f"unknown dialect {dialect!r}; expected snake or camel\n")
        ws.mock_dialect = dialect
        if self.auth:
            problem = self._check_auth(request.headers, path)
            if problem is not None:
                ws.mock_reason = problem
                log.info("handshake on %s rejected: %s", path, problem)
                return _response(401, problem + "\n")
        ws.mock_reason = "accepted"
        return None

    def _check_auth(self, headers: Headers, path: str) -> str | None:
        values: dict[str, str] = {}
        for name in _AUTH_HEADERS:
            value = headers.get(name)
            if value is None or not value.strip():
                return f"missing header {name}"
            values[name] = value.strip()
        with self._lock:
            key = self._keys.get(values["X-PM-Access-Key"])
        if key is None:
            return "unknown access key"
        timestamp = values["X-PM-Timestamp"]
        if not timestamp.isdigit():
            return f"invalid timestamp {timestamp[:32]!r}: expected Unix milliseconds"
        try:
            signature = base64.b64decode(values["X-PM-Signature"], validate=True)
        except (binascii.Error, ValueError):
            return "invalid signature (not base64)"
        try:
            key.verify(signature, f"{timestamp}GET{path}".encode())
        except InvalidSignature:
            return "invalid signature"
        skew = abs(self.clock() - int(timestamp) / 1000.0)
        if skew > self.skew_seconds:
            window = f"{self.skew_seconds:g}"
            return f"timestamp outside the {window} s window (skew {skew:.1f} s)"
        if self.reject_replayed_signatures:
            with self._lock:
                if values["X-PM-Signature"] in self._seen_signatures:
                    return "replayed signature"
                self._seen_signatures.add(values["X-PM-Signature"])
        return None

    def _process_response(
        self, ws: ServerConnection, request: HttpRequest, response: HttpResponse
    ) -> HttpResponse | None:
        assert isinstance(ws, _MockConnection)
        if ws.mock_record:
            reason = ws.mock_reason
            if response.status_code != 101 and reason == "accepted":
                reason = (response.body or b"").decode("utf-8", "replace").strip() or response.reason_phrase
            record = HandshakeRecord(ws.mock_raw_path, dict(ws.mock_headers), response.status_code,
                                     reason, time.time())
            with self._lock:
                self._handshakes.append(record)
        return None

    @property
    def handshakes(self) -> list[HandshakeRecord]:
        """Every upgrade attempt on an endpoint path so far, accepted or not."""
        with self._lock:
            return list(self._handshakes)

    @property
    def opened_connections(self) -> list[tuple[int, str]]:
        """``(conn_id, path)`` of every connection accepted since start or :meth:`clear`, in order."""
        with self._lock:
            return list(self._opened)

    # ----------------------------------------------------------- connections

    def _handler(self, ws: ServerConnection) -> None:
        assert isinstance(ws, _MockConnection)
        with self._cond:
            conn = _Conn(next(self._conn_ids), ws, ws.mock_endpoint, ws.mock_dialect)
            self._conns[conn.id] = conn
            self._opened.append((conn.id, conn.path))
            self._cond.notify_all()
        writer = threading.Thread(target=self._writer, args=(conn,),
                                  name=f"mockserver-writer-{conn.id}", daemon=False)
        conn.writer = writer
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
                    self._record_error(f"connection {conn.id}: request handling failed: {exc!r}")
        finally:
            with self._cond:
                for sub in conn.subs.values():
                    sub.active = False
                self._conns.pop(conn.id, None)
                self._cond.notify_all()
            conn.queue.put(_STOP)
            writer.join()
            log.debug("connection %d closed", conn.id)

    def _writer(self, conn: _Conn) -> None:
        ws = conn.ws
        next_hb = time.monotonic() + self.heartbeat_interval
        try:
            while True:
                wait = max(0.0, next_hb - time.monotonic())
                try:
                    item = conn.queue.get(timeout=wait)
                except queue.Empty:
                    next_hb = max(next_hb + self.heartbeat_interval, time.monotonic())
                    if not self._faults.heartbeats_stopped:
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
            if not conn.dropped and not self._stopping.is_set():
                log.error("connection %d: writer failed", conn.id, exc_info=True)
                self._record_error(f"connection {conn.id}: writer failed: {exc!r}")

    def _send(self, conn: _Conn, payload: str | bytes, *, fault: bool,
              sub: _Subscription | None = None) -> bool:
        delay = self._faults.delay
        if delay > 0:
            if self._stopping.wait(delay):
                return False
            if sub is not None and not sub.active:
                return True
        if conn.dropped:
            return False
        try:
            conn.ws.send(payload)
        except (ConnectionClosed, OSError):
            return False
        data: Any = None
        if isinstance(payload, str):
            try:
                data = json.loads(payload, parse_float=Decimal)
            except ValueError:
                if not fault:
                    self._record_error(f"connection {conn.id}: server sent invalid JSON: {payload[:200]!r}")
        self.journal.append(JournalEntry(conn.id, conn.path, "out", time.time(), payload, data))
        return True

    def _on_frame(self, conn: _Conn, frame: str | bytes) -> None:
        data: Any = None
        if isinstance(frame, str):
            try:
                data = json.loads(frame, parse_float=Decimal)
            except ValueError:
                data = None
        self.journal.append(JournalEntry(conn.id, conn.path, "in", time.time(), frame, data))
        if isinstance(frame, bytes):
            self._send_error(conn, "", "binary frames are not supported; send JSON text frames")
            return
        try:
            req = parse_request(frame, conn.path, self._known_slugs)
        except ProtocolError as exc:
            log.info("connection %d: bad request: %s", conn.id, exc.message)
            self._send_error(conn, exc.request_id, exc.message)
            return
        with self._cond:
            if req.action == "unsubscribe":
                sub = conn.subs.pop(req.request_id, None)
                if sub is None:
                    self._send_error(conn, req.request_id,
                                     f"unknown request id {req.request_id!r}: no live subscription to unsubscribe")
                    return
                sub.active = False
                self._cond.notify_all()
                return
            assert req.subscription_type is not None
            if req.request_id in conn.subs:
                self._send_error(conn, req.request_id, f"request id {req.request_id!r} is already live")
                return
            if len(conn.subs) >= self.max_subscriptions:
                self._send_error(conn, req.request_id,
                                 f"too many subscriptions on this connection (limit {self.max_subscriptions})")
                return
            sub = _Subscription(req.request_id, req.subscription_type, req.market_slugs)
            conn.subs[req.request_id] = sub
            if self.replayer is not None:
                self._start_replay(conn, sub)
            else:
                for message in self._snapshot(sub):
                    self._enqueue(conn, message, sub)
            self._cond.notify_all()

    def _send_error(self, conn: _Conn, request_id: str, message: str) -> None:
        self._enqueue(conn, {"request_id": request_id, "error": message}, None)

    def _enqueue(self, conn: _Conn, message: dict[str, Any], sub: _Subscription | None) -> None:
        conn.queue.put(_Out(render(message, conn.dialect, conn.path), sub))

    def _wrap(self, sub: _Subscription, key: str, payload: Any) -> dict[str, Any]:
        return {"request_id": sub.request_id, "subscription_type": Enum(sub.type), key: payload}

    def _snapshot(self, sub: _Subscription) -> list[dict[str, Any]]:
        ex = self._exchange
        t = sub.type
        if t in ("SUBSCRIPTION_TYPE_ORDER", "SUBSCRIPTION_TYPE_ORDER_SNAPSHOT"):
            orders = ex.open_orders(sub.slugs)
            pages = [orders[i:i + self.page_size] for i in range(0, len(orders), self.page_size)] or [[]]
            return [self._wrap(sub, "order_subscription_snapshot",
                               {"orders": page, "eof": i == len(pages) - 1})
                    for i, page in enumerate(pages)]
        if t == "SUBSCRIPTION_TYPE_ACCOUNT_BALANCE":
            return [self._wrap(sub, "account_balances_snapshot", {"balances": ex.balances()})]
        if t == "SUBSCRIPTION_TYPE_MARKET_DATA":
            return [self._wrap(sub, "market_data", ex.market_data(s)) for s in sub.slugs]
        if t == "SUBSCRIPTION_TYPE_MARKET_DATA_LITE":
            return [self._wrap(sub, "market_data_lite", ex.market_data_lite(s)) for s in sub.slugs]
        return []

    def _start_replay(self, conn: _Conn, sub: _Subscription) -> None:
        """Replay mode: play the recorded frames of ``sub``'s type to it, on a thread of its own."""
        assert self.replayer is not None
        frames = self.replayer.frames_for(conn.path, sub.type)
        if not frames:
            log.info("connection %d: no recording of %s to replay", conn.id, sub.type)
            return

        def send(payload: str | bytes) -> bool:
            if not sub.active or conn.dropped or self._stopping.is_set():
                return False
            conn.queue.put(_Out(payload, sub, fault=True))  # recorded frames are sent as they came
            return True

        def wait(seconds: float) -> bool:
            return self._stopping.wait(seconds) or not sub.active

        thread = threading.Thread(
            target=_play_replay, args=(frames, sub.request_id, self.replayer.speed, send, wait, time.monotonic),
            name=f"mockserver-replay-{conn.id}-{sub.request_id}", daemon=False)
        with self._lock:
            self._aux_threads = [t for t in self._aux_threads if t.is_alive()]
            self._aux_threads.append(thread)
        thread.start()

    def _publish(self, events: Iterable[Event]) -> None:
        """Route events to matching live subscriptions (call with the lock held)."""
        if self.replayer is not None:
            return  # replay mode: only recorded frames are sent
        conns = [self._conns[k] for k in sorted(self._conns)]
        for event in events:
            types, key = PAYLOAD_KEYS[event.kind]
            for conn in conns:
                for sub in list(conn.subs.values()):
                    if sub.type not in types or not sub.active:
                        continue
                    if (sub.slugs and event.slug is not None and event.kind not in ("balance", "rfq")
                            and event.slug not in sub.slugs):
                        continue
                    self._enqueue(conn, self._wrap(sub, key, event.payload), sub)

    # ------------------------------------------------------------- inspection

    @property
    def connections(self) -> list[ConnectionInfo]:
        """Live connections (snapshots), oldest first."""
        with self._lock:
            return [self._conns[k].info() for k in sorted(self._conns)]

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
        endpoint = _endpoint(path)
        with self._cond:
            def ready() -> list[_Conn]:
                return [c for c in self._conns.values() if endpoint is None or c.path == endpoint]

            if not self._cond.wait_for(lambda: bool(ready()), timeout):
                raise TimeoutError(f"no connection within {timeout} s")
            return max(ready(), key=lambda c: c.id).info()

    def wait_for_subscription(
        self, subscription_type: str, timeout: float = 5.0, request_id: str | None = None
    ) -> SubscriptionInfo:
        """Wait until a live subscription of ``subscription_type`` (wire name) exists; return it."""
        name = str(subscription_type)

        def find() -> SubscriptionInfo | None:
            for cid in sorted(self._conns, reverse=True):
                conn = self._conns[cid]
                for sub in conn.subs.values():
                    if sub.type == name and (request_id is None or sub.request_id == request_id):
                        return SubscriptionInfo(conn.id, conn.path, sub.request_id, sub.type, sub.slugs)
            return None

        with self._cond:
            if not self._cond.wait_for(lambda: find() is not None, timeout):
                raise TimeoutError(f"no {name} subscription within {timeout} s")
            found = find()
            assert found is not None
            return found

    def wait_for_no_connections(self, timeout: float = 5.0) -> None:
        """Wait until no connection is live; ``TimeoutError`` otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: not self._conns, timeout):
                raise TimeoutError(f"{len(self._conns)} connection(s) still live after {timeout} s")

    def wait_idle(self, timeout: float = 2.0) -> bool:
        """Wait (bounded) until no connection is live and their threads have finished; True if so."""
        deadline = time.monotonic() + timeout
        try:
            self.wait_for_no_connections(timeout)
        except TimeoutError:
            return False
        with self._lock:
            ws_objects = list(self._ws_objects)
        for ws in ws_objects:
            for thread in (ws.handler_thread, ws.recv_events_thread):
                if thread is not threading.current_thread():
                    thread.join(max(0.0, deadline - time.monotonic()))
        return not any(ws.handler_thread.is_alive() or ws.recv_events_thread.is_alive() for ws in ws_objects)

    def check_assertions(self) -> None:
        """Raise ``AssertionError`` listing every problem recorded inside the server, then forget them."""
        with self._lock:
            errors, self._errors = self._errors, []
        if errors:
            raise AssertionError("mockserver recorded %d problem(s):\n  %s" % (len(errors), "\n  ".join(errors)))

    def clear(self) -> None:
        """Close every connection, then reset exchange (re-seeded), faults, journal and handshakes."""
        self._faults.reset()
        with self._lock:
            conns = list(self._conns.values())
        for conn in conns:
            conn.queue.put(_Close(1001, "mockserver cleared"))
        try:
            self.wait_for_no_connections(self.close_timeout + 2)
        except TimeoutError:
            self.drop_connections()
            self.wait_for_no_connections(self.close_timeout + 2)
        with self._lock:
            self._exchange.reset()
            self.journal.clear()
            self._handshakes.clear()
            self._opened.clear()
            self._seen_signatures.clear()
            self._errors.clear()

    # ----------------------------------------------------------------- faults

    def _targets(self, path: str | None) -> list[_Conn]:
        endpoint = _endpoint(path)
        with self._lock:
            return [self._conns[k] for k in sorted(self._conns)
                    if endpoint is None or self._conns[k].path == endpoint]

    def drop_connections(self, path: str | None = None) -> int:
        """Abruptly close connections' TCP sockets (no close frame); returns how many."""
        targets = self._targets(path)
        for conn in targets:
            conn.dropped = True
            sock = conn.ws.socket
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        log.info("dropped %d connection(s)", len(targets))
        return len(targets)

    def close_connections(self, code: int = 1000, reason: str = "", path: str | None = None) -> int:
        """Close connections with a close frame (after what is already queued); returns how many."""
        if isinstance(code, bool) or not isinstance(code, int) or not (
            code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014)
            or 3000 <= code <= 4999
        ):
            raise ValueError(f"invalid close code {code!r}")
        if len(reason.encode()) > 123:
            raise ValueError("close reason must be at most 123 bytes of UTF-8")
        targets = self._targets(path)
        for conn in targets:
            conn.queue.put(_Close(code, reason))
        return len(targets)

    def stop_heartbeats(self) -> None:
        """Stop sending heartbeats (connections stay open and silent)."""
        self._faults.heartbeats_stopped = True

    def resume_heartbeats(self) -> None:
        """Send heartbeats again."""
        self._faults.heartbeats_stopped = False

    def reject_handshakes(
        self, count: int = 1, status: int = 503, retry_after: float | None = None, body: str | None = None
    ) -> None:
        """Reject the next ``count`` upgrade attempts with ``status`` (and ``Retry-After`` when given)."""
        self._faults.add_rejections(count, status, retry_after, body)

    def set_delay(self, seconds: float) -> None:
        """Delay every outgoing frame by ``seconds`` (0 turns the delay off)."""
        self._faults.set_delay(seconds)

    def _send_raw(self, payload: str | bytes, path: str | None) -> int:
        targets = self._targets(path)
        for conn in targets:
            conn.queue.put(_Out(payload, None, fault=True))
        return len(targets)

    def send_malformed(self, path: str | None = None) -> int:
        """Send one text frame that is not valid JSON to each connection; returns how many."""
        return self._send_raw(_faults.malformed_frame(), path)

    def send_unknown_payload(self, path: str | None = None) -> int:
        """Send one JSON frame with an unknown payload key to each connection."""
        return self._send_raw(_faults.unknown_payload_frame(), path)

    def send_binary(self, path: str | None = None, data: bytes = _faults.BINARY_FRAME) -> int:
        """Send one binary frame to each connection."""
        return self._send_raw(bytes(data), path)

    def send_oversized(self, size: int = 2_000_000, path: str | None = None) -> int:
        """Send one valid JSON text frame of ``size`` bytes to each connection."""
        return self._send_raw(_faults.oversized_frame(size), path)

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

    @property
    def heartbeats_stopped(self) -> bool:
        """Whether heartbeats are stopped."""
        return self._faults.heartbeats_stopped

    def _ticker(self) -> None:
        while not self._stopping.wait(self.tick_interval):
            if self._faults.ticker_paused:
                continue
            try:
                self.tick()
            except Exception as exc:
                log.error("ticker step failed", exc_info=True)
                self._record_error(f"ticker step failed: {exc!r}")

    def _apply(self, step: Callable[[], list[Event]]) -> list[Event]:
        with self._lock:
            events = step()
            self._publish(events)
            return events

    def tick(self) -> list[Event]:
        """Run one exchange step now and send its updates; returns the events."""
        return self._apply(self._exchange.step)

    def inject_trade(self, slug: str | None = None) -> list[Event]:
        """Print a market trade now (on ``slug`` or a random open market)."""
        if slug is not None and slug not in self._known_slugs:
            raise KeyError(f"unknown market slug {slug!r}")
        return self._apply(lambda: self._exchange.trade(slug))

    def inject_fill(self, order_id: str | None = None) -> list[Event]:
        """Fill (part of) an open order of the demo account now: order, trade, position, balance updates."""
        return self._apply(lambda: self._exchange.fill(order_id))

    def inject_balance_change(self, amount: str | Decimal = "10.00", description: str = "Deposit") -> list[Event]:
        """Change the demo account's cash by ``amount`` now (negative: withdrawal)."""
        try:
            value = Decimal(amount)
        except (InvalidOperation, TypeError, ValueError):
            raise ValueError(f"amount must be a decimal number, got {amount!r}") from None
        if not value.is_finite():
            raise ValueError(f"amount must be finite, got {amount!r}")
        return self._apply(lambda: self._exchange.balance_change(value, description))

    def inject_market_state(self, slug: str, state_name: str) -> list[Event]:
        """Set a market's state (e.g. ``MARKET_STATE_HALTED``) now and publish its book."""
        if state_name not in MARKET_STATES:
            raise ValueError(f"unknown market state {state_name!r}; expected one of {', '.join(MARKET_STATES)}")
        if slug not in self._known_slugs:
            raise KeyError(f"unknown market slug {slug!r}")
        return self._apply(lambda: self._exchange.set_market_state(slug, state_name))

    def inject_rfq(self, slug: str | None = None) -> list[Event]:
        """Emit one RFQ event now."""
        if slug is not None and slug not in self._known_slugs:
            raise KeyError(f"unknown market slug {slug!r}")
        return self._apply(lambda: self._exchange.rfq(slug))

    @property
    def open_order_ids(self) -> list[str]:
        """Ids of the demo account's open orders."""
        with self._lock:
            return list(self._exchange.account.orders)
