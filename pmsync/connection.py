"""The client's I/O layer: one WebSocket, its reader thread, keep-alive pings,
the heartbeat watchdog and the reconnect loop.

This module knows sockets and threads, and nothing of the protocol: it hands
every text or binary frame to a :class:`Listener` (the client) and asks the
listener what to send when a connection opens. websocket-client opens each
connection (handshake, proxy, TLS); websockets' sans-I/O ``Protocol`` frames it
(:class:`~pmsync.framing.Wire`).
"""

from __future__ import annotations

import email.utils
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Protocol

import attrs
import websocket
from websockets.exceptions import WebSocketException
from websockets.frames import CloseCode

from .auth import Credentials
from .backoff import HEALTHY_AFTER, Backoff, Streak, healthy
from .diagnose import Misconfigured, certificate_failed, failed_attempt
from .errors import AuthenticationError, ConnectionClosed, HandshakeError
from .framing import BINARY, CLOSE, CONT, READ_SIZE, TEXT, Wire
from .watchdog import HeartbeatWatchdog

__all__ = ["Connection", "ConnectionOptions", "Listener"]

log = logging.getLogger("pmsync.connection")


#: Longest ``Retry-After`` honoured, in seconds.
MAX_RETRY_AFTER = 600.0

#: The opcodes :meth:`Listener.frame_received` receives (``int`` subclasses).
OPCODE_TEXT = TEXT
OPCODE_BINARY = BINARY

# A heartbeat frame, {"heartbeat": {}} (the watchdog learns the interval from them).
_HEARTBEAT_FRAME = re.compile(rb'\s*\{\s*"heartbeat"\s*:')

_RETRYABLE_STATUS = frozenset({408, 425, 429}) | frozenset(range(500, 600))

@attrs.frozen(kw_only=True)
class ConnectionOptions:
    """Transport options of a client (see the client constructor)."""

    heartbeat_timeout: float | None = None
    reconnect: bool = True
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    max_reconnect_attempts: int | None = None
    ping_interval: float = 20.0
    connect_timeout: float = 10.0
    sslopt: dict[str, Any] | None = attrs.field(default=None, repr=False)
    http_proxy_host: str | None = None
    http_proxy_port: int | None = None


class Listener(Protocol):
    """What the connection calls back into (the client implements it)."""

    def connection_made(self, send: Callable[[list[str]], bool], reconnected: bool) -> None:
        """A connection is up: send what must be sent first (resubscriptions)."""

    def frame_received(self, opcode: int, data: bytes) -> None:
        """A text or binary message arrived (called on the reader thread)."""

    def connection_lost(self, error: ConnectionClosed) -> None:
        """The connection went down; a reconnect may follow."""

    def connection_restored(self, gap_began: datetime, gap_ended: datetime) -> None:
        """A new connection replaced the lost one."""

    def connection_failed(self, error: BaseException) -> None:
        """The client stops for good (authentication refused, attempts exhausted,
        or a listener raised a BaseException)."""


def _retry_after(headers: Any) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or HTTP-date)."""
    if not headers:
        return None
    value = None
    for key, item in dict(headers).items():
        if str(key).lower() == "retry-after":
            value = str(item).strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    return max(0.0, min(seconds, MAX_RETRY_AFTER))


def _gave_up(error: ConnectionClosed, tries: int) -> ConnectionClosed:
    """The last error of an exhausted retry, same class and fields, saying so."""
    message = f"gave up after {tries} attempt(s): {error}"
    if isinstance(error, HandshakeError):
        return type(error)(message, error.status, error.body, error.retry_after)
    return type(error)(message, error.code, error.reason)


def _body_text(body: Any) -> str:
    if isinstance(body, bytes):
        return body[:2048].decode("utf-8", "replace")
    return "" if body is None else str(body)[:2048]


def retryable(error: BaseException) -> bool:
    """Whether a failed connection attempt is worth another try."""
    if isinstance(error, AuthenticationError):
        return False
    if isinstance(error, HandshakeError):
        return error.status in _RETRYABLE_STATUS
    return not isinstance(error, Misconfigured)


class Connection:
    """One logical connection to an endpoint, kept up across drops.

    :meth:`open` connects in the caller's thread and starts the reader; the
    reader reconnects by itself. :meth:`close` stops everything and joins the
    threads it started.
    """

    #: The current connection's watchdog (for inspection and tests).
    watchdog: HeartbeatWatchdog | None = None

    def __init__(
        self,
        url: str,
        path: str,
        credentials: Credentials,
        options: ConnectionOptions,
        listener: Listener,
        name: str,
    ) -> None:
        self.url = url
        self.path = path
        self._credentials = credentials
        self.options = options
        self._listener = listener
        self.name = name
        self._stop = threading.Event()
        self._ws: Wire | None = None
        self._pending: websocket.WebSocket | None = None
        self._ws_lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._pinger: threading.Thread | None = None
        self._opened_at = 0.0
        self._healthy = False
        self._policy = Backoff(initial=options.backoff_initial, maximum=options.backoff_max)
        self._streak = Streak()
        #: Waits ``delay`` seconds between attempts; True if stopped meanwhile.
        #: Tests replace it to run long outages without sleeping (``_clock``
        #: dates a connection for the healthy rule).
        self._sleep: Callable[[float], bool] = self._stop.wait
        self._clock: Callable[[], float] = time.monotonic
        self.reconnects = 0
        self.last_frame = 0.0
        #: Called as ``(attempt, error, next_wait, seconds_left)`` after each failed
        #: attempt of the first connect (:meth:`open`), before the wait.
        self.on_attempt_failed: Callable[[int, ConnectionClosed, float, float | None], None] | None = None

    # ------------------------------------------------------------------ public

    @property
    def connected(self) -> bool:
        """True while a connection is up."""
        return self._ws is not None

    def open(self, timeout: float | None = None) -> None:
        """Connect (retrying retryable failures with backoff until ``timeout``),
        then start the reader thread. Raises on a fatal or final failure."""
        deadline = None if timeout is None else time.monotonic() + timeout
        ws = self._connect_with_retry(deadline)
        if ws is None:
            raise ConnectionClosed(f"{self.name}: closed while connecting")
        self._install(ws, reconnected=False)
        if self._stop.is_set():  # closed meanwhile (e.g. from on_connect): start nothing
            self._teardown()
            raise ConnectionClosed(f"{self.name}: closed while connecting")
        # The pinger starts first: a callback on the reader may call close(),
        # which joins the pinger, and joining a thread not yet started raises.
        if self.options.ping_interval and self.options.ping_interval > 0:
            self._pinger = threading.Thread(
                target=self._ping_loop, name=f"pmsync-{self.name}-pinger", daemon=True
            )
            self._pinger.start()
        self._reader = threading.Thread(
            target=self._run, name=f"pmsync-{self.name}-reader", daemon=True
        )
        self._reader.start()

    def send(self, frames: list[str]) -> bool:
        """Send text frames in order; False if there is no connection (the
        reconnect will resubscribe) or the send failed."""
        ws = self._ws
        if ws is None:
            return False
        try:
            ws.send_text(frames)
        except (OSError, WebSocketException) as exc:
            log.debug("%s: send failed: %s", self.name, exc)
            ws.abort()
            return False
        return True

    @property
    def reader(self) -> threading.Thread | None:
        """The reader thread, once started."""
        return self._reader

    def stop(self) -> None:
        """Ask every thread of the connection to end, without waiting (any thread)."""
        self._stop.set()

    def mark_healthy(self) -> None:
        """Tell the reconnect loop this connection works (its backoff may reset)."""
        self._healthy = True

    def replace(self) -> None:
        """Drop the current connection; the reader reconnects."""
        ws = self._ws
        if ws is not None:
            ws.abort()

    def close(self, timeout: float = 1.0) -> None:
        """Stop: close frame, wake the reader, join the threads (not the caller's own)."""
        self._stop.set()
        ws = self._ws
        if ws is not None:
            try:
                ws.send_close(CloseCode.NORMAL_CLOSURE)
            except (OSError, WebSocketException):
                pass
        pending = self._pending
        if pending is not None:
            _abort(pending)
        current = threading.current_thread()
        reader = self._reader
        if reader is not None and reader is not current:
            reader.join(timeout / 2)
            ws = self._ws
            if reader.is_alive() and ws is not None:
                ws.abort()
            reader.join(timeout / 2)
            if reader.is_alive():  # a user callback is still running; wait for it
                reader.join()
        elif reader is current and (ws := self._ws) is not None:
            ws.abort()
        pinger = self._pinger
        if pinger is not None and pinger is not current:
            pinger.join(timeout / 2)
            if pinger.is_alive() and (ws := self._ws) is not None:
                ws.abort()  # a ping blocked in a write returns at once
            pinger.join()
        if reader is None or reader is not current:
            self._teardown()

    # ------------------------------------------------------------------ internals

    def _install(self, ws: Wire, reconnected: bool) -> None:
        self._ws = ws
        self._opened_at = self._clock()
        self._healthy = False
        self.last_frame = time.monotonic()
        self._listener.connection_made(self.send, reconnected)

    def _teardown(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                ws.shutdown()
            except Exception:  # noqa: BLE001 - best effort
                pass

    def _attempt(self) -> Wire:
        """One connection attempt with freshly signed headers."""
        headers = self._credentials.sign_handshake(self.path)
        opts = self.options
        ws = websocket.WebSocket(
            sslopt=opts.sslopt,
            enable_multithread=True,
            skip_utf8_validation=True,  # the codec's bytes→str decode checks UTF-8
        )
        self._pending = ws
        try:
            if self._stop.is_set():
                raise ConnectionClosed(f"{self.name}: closed")
            ws.connect(
                self.url,
                header=[f"{k}: {v}" for k, v in headers.items()],
                timeout=opts.connect_timeout,
                http_proxy_host=opts.http_proxy_host,
                http_proxy_port=opts.http_proxy_port,
                suppress_origin=True,
            )
        except websocket.WebSocketBadStatusException as exc:
            ws.shutdown()
            status = int(exc.status_code)
            body = _body_text(getattr(exc, "resp_body", None))
            retry_after = _retry_after(getattr(exc, "resp_headers", None))
            detail = f": {body.strip()}" if body.strip() else ""
            if status in (401, 403):
                raise AuthenticationError(
                    f"{self.url}: handshake refused with HTTP {status}{detail}",
                    status,
                    body,
                ) from None
            raise HandshakeError(
                f"{self.url}: handshake refused with HTTP {status}{detail}",
                status,
                body,
                retry_after,
            ) from None
        except ssl.SSLCertVerificationError as exc:
            ws.shutdown()
            raise certificate_failed(self.url, exc) from None
        except ConnectionClosed:
            ws.shutdown()
            raise
        except (OSError, websocket.WebSocketException, ValueError) as exc:
            ws.shutdown()
            first = self._reader is None  # the first connect: a mismatch is refused at once
            raise failed_attempt(self.url, exc, first=first, options=opts) from None
        finally:
            self._pending = None
        return Wire(ws)

    def _backoff(self, attempt: int, error: BaseException) -> float:
        retry_after: float | None = getattr(error, "retry_after", None)
        return self._policy.delay(attempt, retry_after)

    def _connect_with_retry(
        self, deadline: float | None, error: ConnectionClosed | None = None
    ) -> Wire | None:
        """Attempts with backoff until success; None if stopped; raises when final.

        With ``error`` (why the last connection ended) it waits a backoff first.
        The backoff grows across outages until a connection proves healthy.
        """
        opts = self.options
        tries = 0
        while True:
            if error is not None:
                delay = self._backoff(self._streak.failed(), error)
                if deadline is not None and time.monotonic() + delay > deadline:
                    raise _gave_up(error, tries)
                log.warning("%s; reconnecting in %.2f s", error, delay)
                if self.on_attempt_failed is not None and self._reader is None:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    self.on_attempt_failed(tries, error, delay, remaining)
                if self._sleep(delay):
                    return None
            if self._stop.is_set():
                return None
            tries += 1
            try:
                return self._attempt()
            except ConnectionClosed as exc:
                if self._stop.is_set():
                    return None
                if not opts.reconnect or not retryable(exc):
                    raise
                limit = opts.max_reconnect_attempts
                if limit is not None and tries >= limit:
                    raise _gave_up(exc, tries) from exc
                error = exc

    def _run(self) -> None:
        """The reader thread: read until the connection ends, then reconnect."""
        try:
            while not self._stop.is_set():
                ws = self._ws
                assert ws is not None
                error = self._read(ws)
                gap_began = datetime.now(timezone.utc)  # the moment the drop is seen
                self._streak.connection_ended(
                    healthy(self._healthy, self._clock() - self._opened_at)
                )
                self._teardown()
                if self._stop.is_set():
                    return
                log.info("%s", error)
                self._listener.connection_lost(error)
                if not self.options.reconnect:
                    self._listener.connection_failed(error)
                    return
                try:
                    new = self._connect_with_retry(None, error)
                except ConnectionClosed as exc:
                    log.error("%s: giving up: %s", self.name, exc)
                    self._listener.connection_failed(exc)
                    return
                if new is None:
                    return
                self.reconnects += 1
                self._install(new, reconnected=True)
                self._listener.connection_restored(gap_began, datetime.now(timezone.utc))
        except Exception as exc:  # noqa: BLE001 - the reader must report, not vanish
            log.exception("%s: reader failed", self.name)
            self._listener.connection_failed(exc)
        except BaseException as exc:  # noqa: BLE001 - e.g. SystemExit from a listener
            log.error("%s: reader stopped by %r", self.name, exc)
            self._listener.connection_failed(exc)
        finally:
            # However the reader ends, the connection is over: the pinger stops too.
            self._stop.set()
            self._teardown()

    def _read(self, ws: Wire) -> ConnectionClosed:
        """Dispatch messages until the connection ends; return why it ended.

        Reads the socket :data:`~pmsync.framing.READ_SIZE` bytes at a time and
        hands them to the protocol (:meth:`Wire.feed`, which answers pings);
        fragments are joined into one message here. The watchdog
        (:class:`~pmsync.watchdog.HeartbeatWatchdog`, which says when silence
        means death) drives the socket timeout. Messages (data or heartbeats)
        are life; pongs to our pings are life only until the heartbeat
        interval is known; time spent in callbacks is not waiting.
        """
        on_frame = self._listener.frame_received
        monotonic = time.monotonic
        watch = self.watchdog = HeartbeatWatchdog(
            self.options.heartbeat_timeout, self.options.ping_interval)
        watch.reset(monotonic())
        wait = watch.limit
        ws.settimeout(wait)
        recv = ws.sock.recv
        feed = ws.feed
        healthy_at = self._opened_at + HEALTHY_AFTER
        parts: list[bytes | bytearray | memoryview] = []  # the fragments of a message being received
        first = TEXT  # the opcode of that message
        while True:
            try:
                chunk = recv(READ_SIZE)
                frames = feed(chunk)
            except TimeoutError:
                now = monotonic()
                if watch.expired(now):
                    return ConnectionClosed(f"{self.name}: {watch.reason(now)}")
                wait = watch.remaining(now)  # the deadline moved (rare): wait on
                ws.settimeout(wait)
                continue
            except OSError as exc:
                return ConnectionClosed(
                    f"{self.name}: connection lost: {exc or type(exc).__name__}"
                )
            for frame in frames:
                opcode = frame.opcode
                if opcode is TEXT or opcode is BINARY:
                    if not frame.fin:
                        parts.append(frame.data)
                        first = opcode
                        continue
                    data = bytes(frame.data)  # the protocol's buffer slice is a bytearray
                elif opcode is CONT:
                    parts.append(frame.data)
                    if not frame.fin:
                        continue
                    data, opcode = b"".join(parts), first
                    parts.clear()
                elif opcode is CLOSE:
                    code, reason = ws.close_received()
                    return ConnectionClosed(
                        f"{self.name}: server closed the connection (code {code}"
                        + (f", reason {reason!r})" if reason else ")"),
                        code,
                        reason,
                    )
                else:  # ping (answered by feed) or pong: life only while the interval is unknown
                    now = monotonic()
                    self.last_frame = now
                    watch.control(now)
                    left = watch.remaining(now)
                    if left is not None and left <= 0:
                        return ConnectionClosed(f"{self.name}: {watch.reason(now)}")
                    if wait != left:
                        wait = left
                        ws.settimeout(wait)
                    continue
                now = monotonic()
                self.last_frame = now
                if now >= healthy_at and not self._healthy:
                    self._healthy = True
                if len(data) < 128 and _HEARTBEAT_FRAME.match(data):
                    watch.heartbeat(now)
                on_frame(opcode, data)
                if self._stop.is_set():
                    return ConnectionClosed(f"{self.name}: closed", CloseCode.NORMAL_CLOSURE)
                watch.message(monotonic())
                if wait != watch.limit:
                    wait = watch.limit
                    ws.settimeout(wait)
            failure = ws.failure()
            if failure is not None:
                return ConnectionClosed(
                    f"{self.name}: connection lost: {failure or type(failure).__name__}"
                )
            if not chunk:
                return ConnectionClosed(f"{self.name}: connection lost: end of stream")

    def _ping_loop(self) -> None:
        interval = self.options.ping_interval
        while not self._stop.wait(interval):
            ws = self._ws
            if ws is None:
                continue
            try:
                ws.ping()
            except (OSError, WebSocketException) as exc:
                log.debug("%s: ping failed: %s", self.name, exc)

    @property
    def healthy(self) -> bool:
        """Whether the current connection has proven itself (snapshot or 30 s up)."""
        return healthy(self._healthy, self._clock() - self._opened_at)


def _abort(ws: websocket.WebSocket) -> None:
    """Shut down the socket of a connection still in its handshake."""
    sock = ws.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
