"""One open WebSocket: the socket websocket-client's handshake left behind,
framed by websockets' sans-I/O ``Protocol``.

websocket-client opens the connection (the signed handshake, HTTP proxy,
``sslopt``/TLS, connect timeout); from then on
:class:`websockets.protocol.Protocol`, client side and in state OPEN, turns the
bytes read from that socket (plain or ``ssl.SSLSocket``) into frames and the
frames we send into bytes. It answers pings, runs the close handshake and
bounds the size of a message; nothing here parses a frame by hand.

:class:`Wire` holds the socket, the protocol and the one lock that keeps the
protocol consistent: writes come from any thread (subscribe, the pinger,
close), reads only from the connection's reader thread (``Connection._read``),
which hands each chunk to :meth:`Wire.feed` and handles the frames it returns.
"""

from __future__ import annotations

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

    Every ``send_*`` method and :meth:`feed` take :attr:`lock`, so the
    protocol's outgoing bytes leave in the order they were produced and whole;
    they raise ``OSError`` when the socket fails and
    ``websockets.exceptions.InvalidState`` once a close frame went out.
    """

    __slots__ = ("ws", "sock", "protocol", "lock")

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
        self.lock = threading.Lock()

    def settimeout(self, timeout: float | None) -> None:
        """The socket timeout of the next reads (the heartbeat watchdog's)."""
        self.sock.settimeout(timeout)

    def feed(self, data: bytes) -> list[Frame]:
        """Give the protocol bytes read from the socket (``b""``: end of stream),
        write what it answers (pongs, the close echo), return the frames it cut.

        Reader thread only. Fragments come as they arrived (the first with its
        opcode and ``fin`` false, then ``Opcode.CONT`` frames); after the frames,
        :meth:`failure` says whether the protocol gave up on the connection.
        """
        protocol = self.protocol
        with self.lock:
            if data:
                protocol.receive_data(data)
            else:
                protocol.receive_eof()
            self._flush()
        return protocol.events_received()  # type: ignore[return-value]  # after the handshake: frames only

    def failure(self) -> Exception | None:
        """Why the protocol failed the connection (bad frame, too big, early end), if it did."""
        return self.protocol.parser_exc

    def send_text(self, frames: list[str]) -> None:
        """Send text frames in order (any thread)."""
        protocol = self.protocol
        with self.lock:
            for frame in frames:
                protocol.send_text(frame.encode())
            self._flush()

    def ping(self) -> None:
        """Send an empty ping (any thread)."""
        with self.lock:
            self.protocol.send_ping(b"")
            self._flush()

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        """Start the close handshake, unless it has started (any thread)."""
        with self.lock:
            if self.protocol.state is _OPEN:
                self.protocol.send_close(code, reason)
                self._flush()

    def close_received(self) -> tuple[int | None, str]:
        """The code (``None`` if the server's close frame had none) and reason
        of the close frame received."""
        close = self.protocol.close_rcvd
        if close is None or close.code == CloseCode.NO_STATUS_RCVD:
            return None, ""
        return int(close.code), close.reason

    def abort(self) -> None:
        """Shut the socket down both ways: a blocked read returns at once."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def shutdown(self) -> None:
        """Close the socket (websocket-client's ``shutdown``)."""
        self.ws.shutdown()

    def _flush(self) -> None:
        # Under the lock. An empty chunk is the protocol's end-of-stream mark:
        # the socket is closed by shutdown() anyway.
        writes = self.protocol.data_to_send()
        if writes:
            data = writes[0] if len(writes) == 1 else b"".join(writes)
            if data:
                self.sock.sendall(data)

