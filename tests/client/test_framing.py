"""The transport (issue 15): websocket-client opens the connection, websockets'
sans-I/O Protocol frames it. Against a bare websockets server: fragments are
joined, the server's pings answered, its close reported with code and reason,
an oversized message reported and skipped, and a TLS connection and one through
an HTTP proxy are read through the Protocol.
"""

from __future__ import annotations

import base64
import json
import logging
import select
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from websockets.frames import Opcode
from websockets.sync.server import ServerConnection, serve

import pmsync
import pmsync.framing as framing
from pmsync.client import MAX_MESSAGE_SIZE

from .conftest import Recorder, wait_until

HEARTBEAT = '{"heartbeat":{}}'
Handler = Callable[[ServerConnection], None]


@pytest.fixture
def credentials() -> pmsync.Credentials:
    raw = Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    return pmsync.Credentials.from_base64("framing-test", base64.b64encode(raw).decode())


class Peer:
    """A bare websockets server running ``handler`` for each connection."""

    def __init__(self, handler: Handler, ssl_context: ssl.SSLContext | None = None) -> None:
        self.done = threading.Event()
        self.errors: list[BaseException] = []

        def run(connection: ServerConnection) -> None:
            try:
                handler(connection)
                self.done.wait(10)
            except Exception as exc:  # noqa: BLE001 - recorded for the test
                self.errors.append(exc)

        self.server = serve(run, "127.0.0.1", 0, ssl=ssl_context, max_size=None,
                            ping_interval=None)
        self.port = self.server.socket.getsockname()[1]
        scheme = "wss" if ssl_context is not None else "ws"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="test-framing-peer")
        self.thread.start()

    def stop(self) -> None:
        self.done.set()
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def peer() -> Iterator[Callable[..., Peer]]:
    peers: list[Peer] = []

    def make(handler: Handler, ssl_context: ssl.SSLContext | None = None) -> Peer:
        peers.append(Peer(handler, ssl_context))
        return peers[-1]

    yield make
    for p in peers:
        p.stop()


def test_fragmented_messages_are_joined(peer: Callable[..., Peer],
                                        credentials: pmsync.Credentials) -> None:
    big = json.dumps({"fragmented": "x" * 200_000})

    def handler(connection: ServerConnection) -> None:
        connection.send(['{"heart', 'beat"', ":{}}"])
        connection.send([big[:70_000], big[70_000:140_000], big[140_000:]])
        connection.send(HEARTBEAT)

    server = peer(handler)
    frames, beats = Recorder(), Recorder()
    with pmsync.MarketsClient(credentials, base_url=server.url, ping_interval=0,
                              on_frame=frames, on_heartbeat=beats):
        beats.wait_count(2)
        wait_until(lambda: len(frames) >= 3, 5, "three messages")
    assert [args[0] for args in frames.items[:3]] == [HEARTBEAT, big, HEARTBEAT]


def test_server_pings_are_answered_by_the_protocol(peer: Callable[..., Peer],
                                                   credentials: pmsync.Credentials) -> None:
    answered: list[bool] = []

    def handler(connection: ServerConnection) -> None:
        for k in range(3):
            pong = connection.ping(f"ping-{k}".encode())
            answered.append(pong.wait(5))
        connection.send(HEARTBEAT)

    server = peer(handler)
    beats = Recorder()
    with pmsync.MarketsClient(credentials, base_url=server.url, ping_interval=0,
                              on_heartbeat=beats):
        beats.wait_count(1)
    assert answered == [True, True, True] and not server.errors


@pytest.mark.parametrize(("code", "reason"), [(4001, "going away now"), (1001, ""), (None, "")])
def test_close_frame_reported_with_code_and_reason(
    peer: Callable[..., Peer], credentials: pmsync.Credentials, code: int | None, reason: str
) -> None:
    connected = threading.Event()

    def handler(connection: ServerConnection) -> None:
        connection.send(HEARTBEAT)
        connected.wait(10)  # connect() has returned
        connection.close(code, reason)  # type: ignore[arg-type]  # None: a close frame without a code

    server = peer(handler)
    disconnects = Recorder()
    client = pmsync.MarketsClient(credentials, base_url=server.url, ping_interval=0,
                                  reconnect=False, on_disconnect=disconnects, on_error=Recorder())
    with client:
        connected.set()
        error = disconnects.wait_count(1)[0]
    assert isinstance(error, pmsync.ConnectionClosed)
    assert (error.code, error.reason) == (code, reason)
    assert f"server closed the connection (code {code}" in str(error)
    if reason:
        assert repr(reason) in str(error)


def test_oversized_message_reported_once_and_skipped(peer: Callable[..., Peer],
                                                     credentials: pmsync.Credentials) -> None:
    over = '{"x":"' + "y" * MAX_MESSAGE_SIZE + '"}'

    def handler(connection: ServerConnection) -> None:
        connection.send(HEARTBEAT)
        connection.send(over)
        connection.send([over[:MAX_MESSAGE_SIZE // 2], over[MAX_MESSAGE_SIZE // 2:]])
        connection.send(HEARTBEAT)

    server = peer(handler)
    errors, beats, disconnects = Recorder(), Recorder(), Recorder()
    with pmsync.MarketsClient(credentials, base_url=server.url, ping_interval=0,
                              on_error=errors, on_heartbeat=beats,
                              on_disconnect=disconnects) as client:
        beats.wait_count(2)
        assert len(disconnects) == 0 and client.stats()["reconnects"] == 0
    reported = [item[0] if isinstance(item, tuple) else item for item in errors.items]
    assert len(reported) == 2, reported  # one for each message, the fragmented one too
    for error in reported:
        assert isinstance(error, pmsync.DecodeError) and "exceeds" in str(error)


def test_a_message_past_the_bound_fails_the_connection(
    peer: Callable[..., Peer], credentials: pmsync.Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(framing, "SIZE_BOUND", 1000)

    connected = threading.Event()

    def handler(connection: ServerConnection) -> None:
        connection.send(HEARTBEAT)
        connected.wait(10)  # connect() has returned
        connection.send("z" * 2000)

    server = peer(handler)
    disconnects = Recorder()
    with pmsync.MarketsClient(credentials, base_url=server.url, ping_interval=0,
                              reconnect=False, on_disconnect=disconnects, on_error=Recorder()):
        connected.set()
        error = disconnects.wait_count(1)[0]
    assert "connection lost" in str(error) and "1000" in str(error)


def test_tls_connection_read_through_the_protocol(peer: Callable[..., Peer],
                                                  credentials: pmsync.Credentials) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    big = json.dumps({"tls": "t" * 100_000})  # several TLS records

    def handler(connection: ServerConnection) -> None:
        connection.send(HEARTBEAT)
        connection.send([big[:50_000], big[50_000:]])
        pong = connection.ping(b"tls")
        if not pong.wait(5):
            raise AssertionError("no pong over TLS")
        connection.send(HEARTBEAT)

    server = peer(handler, server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    frames, beats = Recorder(), Recorder()
    with pmsync.MarketsClient(credentials, base_url=server.url, ping_interval=0.05,
                              sslopt={"context": client_context}, on_frame=frames,
                              on_heartbeat=beats) as client:
        beats.wait_count(2)
        wire = client._conn._ws  # type: ignore[union-attr]
        assert isinstance(wire, framing.Wire) and isinstance(wire.sock, ssl.SSLSocket)
    assert [args[0] for args in frames.items[:3]] == [HEARTBEAT, big, HEARTBEAT]
    assert not server.errors


class ConnectProxy:
    """An HTTP CONNECT proxy that tunnels every request to one port and records
    the request lines it was sent."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.requests: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="test-framing-proxy")
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.05)
        while not self.stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            with client:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = client.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                self.requests.append(head.split(b"\r\n", 1)[0].decode())
                with socket.create_connection(("127.0.0.1", self.target_port)) as upstream:
                    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    self._pipe(client, upstream)

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        while not self.stop.is_set():
            ready, _, _ = select.select([a, b], [], [], 0.05)
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                (b if sock is a else a).sendall(data)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.listener.close()


def test_proxy_options_go_to_websocket_client(peer: Callable[..., Peer],
                                              credentials: pmsync.Credentials) -> None:
    def handler(connection: ServerConnection) -> None:
        connection.send(['{"heartbeat"', ":{}}"])
        pong = connection.ping(b"via proxy")
        if not pong.wait(5):
            raise AssertionError("no pong through the proxy")
        connection.send(HEARTBEAT)

    server = peer(handler)
    proxy = ConnectProxy(server.port)
    beats = Recorder()
    try:
        # The host is only ever named to the proxy, which tunnels to the peer.
        with pmsync.MarketsClient(credentials, base_url="ws://pmsync-proxied.invalid:8080",
                                  ping_interval=0, http_proxy_host="127.0.0.1",
                                  http_proxy_port=proxy.port, on_heartbeat=beats):
            beats.wait_count(2)
    finally:
        proxy.close()
    assert proxy.requests == ["CONNECT pmsync-proxied.invalid:8080 HTTP/1.1"]
    assert not server.errors


def test_a_wire_serialises_writes_from_many_threads() -> None:
    """Subscribe sends and pings from several threads leave as whole frames."""
    a, b = socket.socketpair()
    wire = framing.Wire(type("WS", (), {"sock": a, "shutdown": a.close})())
    from websockets.protocol import Protocol, Side

    server = Protocol(Side.SERVER, max_size=None)

    def sender(k: int) -> None:
        for i in range(200):
            wire.send_text([f"{k}-{i}"])
            if i % 50 == 0:
                wire.ping()

    got: list[Any] = []

    def receive() -> None:
        while chunk := b.recv(65536):
            server.receive_data(chunk)
            got.extend(server.events_received())

    reader = threading.Thread(target=receive, name="test-framing-receive")
    reader.start()
    threads = [threading.Thread(target=sender, args=(k,), name=f"test-framing-send-{k}")
               for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    a.shutdown(socket.SHUT_WR)
    reader.join(10)
    a.close()
    b.close()
    assert server.parser_exc is None
    texts = [bytes(f.data).decode() for f in got if f.opcode == Opcode.TEXT]
    assert len(texts) == 800 and sum(f.opcode == Opcode.PING for f in got) == 16
    for k in range(4):  # each thread's frames in its order
        assert [t for t in texts if t.startswith(f"{k}-")] == [f"{k}-{i}" for i in range(200)]


def test_frames_are_logged_only_when_their_own_logger_says_so() -> None:
    a, b = socket.socketpair()
    try:
        ws = type("WS", (), {"sock": a, "shutdown": a.close})()
        pmsync_log = logging.getLogger("pmsync")
        before = pmsync_log.level
        pmsync_log.setLevel(logging.DEBUG)
        try:
            assert not framing.Wire(ws).protocol.debug
            framing.FRAME_LOG.setLevel(logging.DEBUG)
            assert framing.Wire(ws).protocol.debug
        finally:
            framing.FRAME_LOG.setLevel(logging.NOTSET)
            pmsync_log.setLevel(before)
    finally:
        a.close()
        b.close()
