"""One open WebSocket: the socket websocket-client's handshake left behind,
framed by websockets' sans-I/O ``Protocol``.

websocket-client opens the connection (the signed handshake, HTTP proxy,
``sslopt``/TLS, connect timeout); from then on
:class:`websockets.protocol.Protocol`, client side and in state OPEN, turns the
bytes read from that socket (plain or ``ssl.SSLSocket``) into frames and the
frames we send into bytes. It answers pings, runs the close handshake and
bounds the size of a message; nothing here parses a frame by hand.

:class:`Wire` holds the socket and the protocol. Reads come only from the
connection's reader thread (``Connection._read``), which hands each chunk to
:meth:`Wire.feed` and handles the frames it returns; writes come from any
thread (subscribe, the pinger, close, the reader's own pongs). Two locks keep
them apart: a short one around the protocol's state, never held during socket
I/O, and a write lock held while bytes go to the socket. The protocol's
outgoing bytes wait in one FIFO that whoever holds the write lock drains, so
they leave whole and in order, and the reader never waits for another
thread's write: it only tries the write lock, and the writer that holds it
sends the reader's pong too. A write that fails (or times out half-way) breaks
the wire: the socket is shut down, the reader sees the end and reconnects.
"""

from __future__ import annotations

import collections
import logging
import socket
import threading
from typing import Any

from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import Protocol, Side, State

__all__ = ["BINARY", "CLOSE", "CONT", "FRAME_LOG", "READ_SIZE", "SIZE_BOUND", "TEXT", "Wire"]

#: Bytes asked of the socket per read.
READ_SIZE = 64 * 1024

#: The largest message the reader buffers, in bytes. A larger one fails the
#: connection (close code 1009, then the usual reconnect). Below it the
#: client's own limit applies: ``pmsync.client.MAX_MESSAGE_SIZE`` (4 MiB)
#: reports a larger message through ``on_error`` and skips it, the connection
#: staying up.
SIZE_BOUND = 64 * 1024 * 1024

#: The logger of every frame in and out (websockets' frame log, at DEBUG). Frames
#: are logged only when this logger's own level is DEBUG: DEBUG on ``pmsync``
#: does not turn it on.
FRAME_LOG = logging.getLogger("pmsync.connection.frames")

_OPEN = State.OPEN

#: A text frame (a whole message, or the first fragment of one). The opcodes are
#: ``int`` subclasses: the reader compares them with ``is``.
TEXT = Opcode.TEXT
#: A binary frame (a whole message, or the first fragment of one).
BINARY = Opcode.BINARY
#: A continuation frame: the next fragment of a message.
CONT = Opcode.CONT
#: A close frame.
CLOSE = Opcode.CLOSE


class Wire:
    """An open connection: ``ws`` (websocket-client's, after its handshake),
    its socket, and a websockets ``Protocol`` framing that socket, which
    fails the connection on a message over ``size_bound`` bytes (default
    :data:`SIZE_BOUND`).

    The ``send_*`` methods and :meth:`ping` raise ``OSError`` when the socket
    fails (or failed before: the wire is then :attr:`broken`) and
    ``websockets.exceptions.InvalidState`` once a close frame went out.
    """

    __slots__ = ("ws", "sock", "protocol", "_state_lock", "_write_lock", "_out", "broken")

    def __init__(self, ws: Any, size_bound: int | None = None) -> None:
        self.ws = ws
        self.sock: Any = ws.sock
        self.protocol = Protocol(
            Side.CLIENT,
            state=_OPEN,
            max_size=SIZE_BOUND if size_bound is None else size_bound,
            logger=FRAME_LOG,
        )
        self.protocol.debug = FRAME_LOG.level == logging.DEBUG
        self._state_lock = threading.Lock()  # the protocol's state; never held during I/O
        self._write_lock = threading.Lock()  # held while bytes go to the socket
        self._out: collections.deque[bytes] = collections.deque()  # bytes not yet written
        #: The write error that broke the wire, if one did.
        self.broken: OSError | None = None

    def settimeout(self, timeout: float | None) -> None:
        """The socket timeout of the next reads (the heartbeat watchdog's)."""
        self.sock.settimeout(timeout)

    def feed(self, data: bytes) -> list[Frame]:
        """Give the protocol bytes read from the socket (``b""``: end of stream),
        send what it answers (pongs, the close echo), return the frames it cut.

        Reader thread only; never waits for another thread's write, and a failed
        write of its own does not lose the frames (the wire is then broken, and
        the next read ends). Fragments come as they arrived (the first with its
        opcode and ``fin`` false, then ``Opcode.CONT`` frames); after the
        frames, :meth:`failure` says whether the protocol gave up on the connection.
        """
        protocol = self.protocol
        with self._state_lock:
            if data:
                protocol.receive_data(data)
            else:
                protocol.receive_eof()
            self._take()
            frames = protocol.events_received()
        if self._out:
            try:
                self._drain(block=False)
            except OSError:
                pass  # broken: the socket is shut down, the next read ends
        return frames  # type: ignore[return-value]  # after the handshake: frames only

    def failure(self) -> Exception | None:
        """Why the protocol failed the connection (bad frame, too big, early end), if it did."""
        return self.protocol.parser_exc

    def send_text(self, frames: list[str]) -> None:
        """Send text frames in order (any thread but the reader's callbacks'
        own writes may wait here for a write in progress)."""
        protocol = self.protocol
        with self._state_lock:
            for frame in frames:
                protocol.send_text(frame.encode())
            self._take()
        self._drain(block=True)

    def ping(self) -> None:
        """Send an empty ping (any thread)."""
        with self._state_lock:
            self.protocol.send_ping(b"")
            self._take()
        self._drain(block=True)

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        """Start the close handshake, unless it has started (any thread). Never
        waits for a write in progress: the close frame then goes after it, or
        not at all if the wire breaks."""
        with self._state_lock:
            if self.protocol.state is not _OPEN:
                return
            self.protocol.send_close(code, reason)
            self._take()
        self._drain(block=False)

    def close_received(self) -> tuple[int | None, str]:
        """The code (``None`` if the server's close frame had none) and reason
        of the close frame received."""
        close = self.protocol.close_rcvd
        if close is None or close.code == CloseCode.NO_STATUS_RCVD:
            return None, ""
        return int(close.code), close.reason

    def abort(self) -> None:
        """Shut the socket down both ways: a blocked read or write returns at once."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def shutdown(self) -> None:
        """Shut the socket down (waking any thread blocked on it), then close it."""
        self.abort()
        self.ws.shutdown()

    def _take(self) -> None:
        # Under the state lock: the protocol's outgoing bytes join the FIFO in
        # the order it produced them. An empty chunk is the protocol's
        # end-of-stream mark: the socket is closed by shutdown() anyway.
        for chunk in self.protocol.data_to_send():
            if chunk:
                self._out.append(chunk)

    def _drain(self, block: bool) -> None:
        """Write the FIFO. Without ``block``, leave it to the thread that holds
        the write lock: it checks the FIFO again after letting go."""
        out = self._out
        while out:
            if self.broken is not None:
                raise self.broken
            if not self._write_lock.acquire(blocking=block):
                return
            try:
                while out:
                    data = b"".join([out.popleft() for _ in range(len(out))])
                    try:
                        self.sock.sendall(data)
                    except OSError as exc:  # a timeout too: part of a frame may be out
                        self.broken = exc
                        out.clear()
                        self.abort()
                        raise
            finally:
                self._write_lock.release()
