"""A server that stops reading: a send blocks in the socket. close() still
returns at once, the reader goes on delivering what arrives, and after a
fatal error no pmsync thread is left when run_forever() raises."""

from __future__ import annotations

import base64
import hashlib
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

import pmsync
from mockserver import demo_credentials

from .conftest import pmsync_threads

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
HEARTBEAT = b'{"heartbeat":{}}'


class RawServer:
    """Accepts one connection, answers the upgrade, then runs ``then(sock, stop)``
    and never reads again (its receive buffer is small, so a client's big send
    blocks)."""

    def __init__(self, then: Callable[[socket.socket, threading.Event], None]) -> None:
        self.stop = threading.Event()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._run, args=(then,), name="test-raw-server")
        self.thread.start()

    def _run(self, then: Callable[[socket.socket, threading.Event], None]) -> None:
        conn, _ = self.listener.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                       if line.lower().startswith(b"sec-websocket-key"))
            accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            then(conn, self.stop)
            self.stop.wait(30)

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(10)


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(then: Callable[[socket.socket, threading.Event], None]) -> RawServer:
        servers.append(RawServer(then))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _client(port: int, **kwargs: object) -> pmsync.MarketsClient:
    key_id, secret = demo_credentials(0)
    return pmsync.MarketsClient(pmsync.Credentials.from_base64(key_id, secret),
                                base_url=f"ws://127.0.0.1:{port}", **kwargs)  # type: ignore[arg-type]


def _blocked_send(client: pmsync.MarketsClient) -> tuple[threading.Thread, list[bool]]:
    """A send of 8 MB (what a very large subscribe does) that blocks in the socket."""
    result: list[bool] = []
    conn = client._conn
    assert conn is not None
    thread = threading.Thread(target=lambda: result.append(conn.send(["x" * (8 << 20)])),
                              name="test-big-send")
    thread.start()
    return thread, result


def test_close_returns_at_once_while_a_send_is_blocked(raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(lambda sock, stop: None)
    client = _client(server.port, heartbeat_timeout=math.inf, on_error=lambda e: None)
    client.connect()
    sender, result = _blocked_send(client)
    sender.join(0.5)
    assert sender.is_alive()  # blocked: the server does not read
    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 3.0
    sender.join(5)
    assert result == [False]
    assert not pmsync_threads()


def test_the_reader_delivers_while_another_thread_is_blocked_in_a_send(
    raw_server: Callable[..., RawServer],
) -> None:
    def beats(sock: socket.socket, stop: threading.Event) -> None:
        while not stop.wait(0.05):
            try:
                sock.sendall(bytes([0x81, len(HEARTBEAT)]) + HEARTBEAT)
            except OSError:
                return

    server = raw_server(beats)
    after_send = threading.Semaphore(0)
    sending = threading.Event()

    def on_heartbeat(event: object) -> None:
        if sending.is_set():
            after_send.release()

    client = _client(server.port, heartbeat_timeout=30, on_heartbeat=on_heartbeat,
                     on_error=lambda e: None)
    client.connect()
    sender, _ = _blocked_send(client)
    sender.join(0.3)
    assert sender.is_alive()
    sending.set()
    for _ in range(10):  # heartbeats keep arriving while the send is stuck
        assert after_send.acquire(timeout=5)
    assert sender.is_alive()
    client.close()
    sender.join(5)
    assert not pmsync_threads()


def test_no_pmsync_thread_left_when_run_forever_raises_a_fatal_error(
    raw_server: Callable[..., RawServer],
) -> None:
    server = raw_server(lambda sock, stop: sock.close())  # drops the connection at once
    errors: list[BaseException] = []
    client = _client(server.port, reconnect=False, on_error=errors.append)
    with pytest.raises(pmsync.ConnectionClosed):
        client.run_forever()
    assert not pmsync_threads()
    assert errors  # on_error ran before run_forever() raised
    client.close()
