"""The reader's half of a client: the connection's listener, and each frame
decoded, routed and handed to the callbacks.

:class:`Dispatcher` is a mixin of :class:`pmsync.client._Client`; everything
here runs on the reader thread (the ``connection_*`` methods and
``frame_received``; the first ``connection_made`` on connect()'s thread) or
wraps a callback (``_call``). No callback runs under a lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from . import report
from .codec import Event, decode
from .connection import OPCODE_BINARY, retryable
from .errors import ConnectionClosed, DecodeError, QueueOverflow
from .lifecycle import Input, State
from .subscription_types import KIND_CALLBACKS

if TYPE_CHECKING:
    from .subscription import Subscription

__all__ = ["KIND_CALLBACKS", "MAX_MESSAGE_SIZE", "Dispatcher"]

log = logging.getLogger("pmsync.client")

Callback = Callable[..., Any]

_CLOSED = State.CLOSED
# The client's __setattr__ (StrictAttributes) is a Python function; the reader's
# per-frame private stores go straight to object's.
_set = object.__setattr__


#: Messages larger than this are not decoded: they are reported through
#: ``on_error`` as a :class:`~pmsync.errors.DecodeError` and skipped. The
#: largest documented message (a 100-market snapshot page) is far below it.
MAX_MESSAGE_SIZE = 4 * 1024 * 1024


class Dispatcher:
    """Connection events → lifecycle; frame → event → subscription callback,
    kind callback, ``messages()`` queue."""

    #: Event kind → client-level callback (the client's subscription types').
    _KIND_CALLBACKS: ClassVar[dict[str, str]] = KIND_CALLBACKS
    _in_flight: Subscription | None
    _send: Callable[[list[str]], bool] | None

    def connection_made(self: Any, send: Callable[[list[str]], bool], reconnected: bool) -> None:
        """Connection up: replay every live subscription (internal)."""
        with self._lock:
            if self._lifecycle.closed:
                return
            self._lifecycle.handle(Input.CONNECTED)
            self._cond.notify_all()  # a second connect() waits for this
            for subscription in self._subscriptions.values():
                subscription._reset()
            self._generation += 1
            self._send = send
            self._outbox.clear()
            frames = self._session.resubscribe_frames(resync=reconnected)
            if frames:
                self._outbox.append((self._generation, frames))
        self._flush()
        self._call(self.on_connect, (), None)

    def connection_lost(self: Any, error: ConnectionClosed) -> None:
        """Connection lost (internal)."""
        with self._lock:
            lifecycle = self._lifecycle
            before = lifecycle.handle(Input.LOST) if lifecycle.state is State.OPEN else None
            self._outbox.clear()
            self._send = None
        # Decided under the lock: exactly one of this and close()'s on_disconnect(None) fires.
        if before is State.OPEN:
            self._call(self.on_disconnect, (error,), None, force=True)

    def connection_restored(self: Any, gap_began: datetime, gap_ended: datetime) -> None:
        """A new connection replaced a lost one (internal)."""
        self._call(self.on_reconnect, (gap_began, gap_ended), None)

    def connection_failed(self: Any, error: BaseException) -> None:
        """The client cannot go on: it closes (internal)."""
        if not isinstance(error, Exception):
            what = Input.ABORT
        elif (
            isinstance(error, ConnectionClosed)
            and self._options.reconnect
            and retryable(error)
        ):
            what = Input.EXHAUSTED
        else:
            what = Input.FATAL
        self._close_now(what, error, report=True)

    def frame_received(self: Any, opcode: int, data: bytes) -> None:
        """Decode one frame and dispatch it (internal; reader thread)."""
        _set(self, "_frames", self._frames + 1)
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

    def _dispatch(self: Any, event: Event) -> None:
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
            if subscription is None:  # ended since: its events are dropped
                return
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
                    if routed.handle.status != "live" and subscription is not None:
                        self._ended(subscription)  # refused by the server
                    if routed.snapshot_complete or kind == "error":
                        self._cond.notify_all()
        if kind == "error":
            text = getattr(event.data, "error", "")
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
        if subscription is None:
            self._deliver(event, None)
            return
        # unsubscribe() sets _live and then waits while _in_flight is this
        # subscription: either it sees the flag here, or it waits for us.
        _set(self, "_in_flight", subscription)
        try:
            if subscription._live:
                self._deliver(event, subscription)
        finally:
            _set(self, "_in_flight", None)
            if self._unsubscribing:
                with self._cond:
                    self._cond.notify_all()

    def _deliver(self: Any, event: Event, subscription: Subscription | None) -> None:
        self._on_data(event)
        handled = False
        if subscription is not None and subscription.callback is not None:
            handled = True
            self._call(subscription.callback, (event,), event)
        # self._call(<the kind's callback>, (event,), event), inline
        callback = getattr(self, self._KIND_CALLBACKS.get(event.kind, "on_unknown"))
        if callback is not None:
            handled = True
            if self._lifecycle.state is not _CLOSED:
                try:
                    callback(event)
                except Exception as exc:  # noqa: BLE001 - the reader goes on
                    self._callback_failed(callback, exc, event)
                except BaseException as exc:  # noqa: BLE001 - closes the client
                    self._callback_aborted(exc)
        # An event a callback handled is queued only once messages() is in use:
        # a callback-only script keeps no 10,000 events alive (memory, and ~10 %
        # of the hot path in cache misses). Unhandled events are always queued,
        # so a messages() loop started after connect() still gets the snapshot.
        queue = self._queue
        if queue.in_use or not handled:
            queue.put(event)
            if queue.dropped != self._overflow.reported:
                self._overflowed(event)

    def _on_data(self, event: Event) -> None:
        """Hook for subclasses: update caches before callbacks run."""

    def _enqueue(self: Any, event: Event) -> None:
        self._queue.put(event)
        if self._queue.dropped != self._overflow.reported:
            self._overflowed(event)

    def _overflowed(self: Any, event: Event) -> None:
        """Report drops at most once per second, with the count since the last report."""
        queue = self._queue
        if not queue.in_use:
            self._overflow.skip(queue.dropped)
            return
        count = self._overflow.due(queue.dropped)
        if count:
            self._report(QueueOverflow(count), event)

    def _call(
        self: Any,
        callback: Callback | None,
        args: tuple[Any, ...],
        event: Event | None,
        force: bool = False,
    ) -> None:
        """Run a callback unless the client is closed (``force``: even then)."""
        if callback is None or (self._lifecycle.state is _CLOSED and not force):
            return
        try:
            callback(*args)
        except Exception as exc:  # noqa: BLE001 - the reader goes on
            self._callback_failed(callback, exc, event)
        except BaseException as exc:  # noqa: BLE001 - closes the client
            self._callback_aborted(exc)

    def _callback_failed(
        self: Any, callback: Callback, exc: Exception, event: Event | None
    ) -> None:
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
            except BaseException as abort:  # noqa: BLE001 - closes the client
                self._callback_aborted(abort)

    def _callback_aborted(self: Any, exc: BaseException) -> None:
        """A callback raised SystemExit, KeyboardInterrupt, GeneratorExit …:
        close the client; re-raise unless on the reader (which then stops, and
        run_forever()/messages() re-raise it in their threads)."""
        log.error("a callback raised %s; closing the client", type(exc).__name__)
        self._close_now(Input.ABORT, exc)
        conn = self._conn
        if conn is None or threading.current_thread() is not conn.reader:
            raise exc


class _FrameTap:
    """The connection's listener when ``on_frame`` is set: hands each raw frame
    to ``on_frame`` and then to the client, which it stands in front of. Keeps
    the raw-frame hook out of the client's frame path when unused."""

    def __init__(self, client: Any) -> None:
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
