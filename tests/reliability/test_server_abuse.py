"""Server abuse (issue 5): clients sending garbage to mockserver while a
well-behaved pmsync client keeps receiving market data from the same server.

Per-connection limits exercised: ``max_message_size`` (1 MiB; larger frames
close the connection with 1009), ``max_subscriptions`` (live subscriptions per
connection; one more gets an ``error`` response), ``open_timeout`` (a
handshake that stops halfway is dropped).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import websocket

import pmsync
from mockserver import MockServer, demo_credentials

from ..client.conftest import Recorder, wait_until
from .conftest import ThreadErrors

MARKETS = "/v1/ws/markets"
LIMIT = 50


class Served:
    def __init__(self, server: MockServer, client: pmsync.MarketsClient, books: Recorder) -> None:
        self.server, self.client, self.books = server, client, books
        self.credentials = pmsync.Credentials.from_base64(*demo_credentials(server.seed))

    def still_served(self, more: int = 20, timeout: float = 10.0) -> None:
        """The good client receives ``more`` new market-data events."""
        start = len(self.books)
        self.books.wait_count(start + more, timeout)
        assert self.client.connected

    def raw(self, timeout: float = 10.0) -> websocket.WebSocket:
        headers = self.credentials.sign_handshake(MARKETS)
        return websocket.create_connection(self.server.url + MARKETS, timeout=timeout,
                                           suppress_origin=True,
                                           header=[f"{k}: {v}" for k, v in headers.items()])


@pytest.fixture
def served(thread_baseline: int, thread_errors: ThreadErrors,
           pm_mockserver_factory: Callable[..., MockServer]) -> Iterator[Served]:
    server = pm_mockserver_factory(heartbeat_interval=0.5, tick_interval=0.05, open_timeout=1.0,
                                   max_subscriptions=LIMIT)
    books = Recorder()
    credentials = pmsync.Credentials.from_base64(*demo_credentials(server.seed))
    client = pmsync.MarketsClient(credentials, base_url=server.url, on_market_data=books,
                                  on_market_data_lite=books, backoff_initial=0.05)
    client.connect()
    client.subscribe_market_data(server.markets)
    client.subscribe_market_data_lite(server.markets)
    try:
        books.wait_count(len(server.markets))
        yield Served(server, client, books)
        assert client.stats()["reconnects"] == 0, "the good client lost its connection"
        server.check_assertions()
    finally:
        client.close()


def read_errors(ws: websocket.WebSocket, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    """Read frames until ``count`` error responses arrived."""
    errors: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(errors) < count:
        assert time.monotonic() < deadline, f"{len(errors)} of {count} error responses"
        message = json.loads(ws.recv())
        if "error" in message:
            errors.append(message)
    return errors


def test_invalid_json_and_garbage(served: Served) -> None:
    ws = served.raw()
    garbage = ["{", "not json", "[]", "null", '{"subscribe": 7}', '{"subscribe": {}}',
               '{"unsubscribe": {"request_id": "nope"}}', "\u0000" * 10, '{"a":' * 500]
    for i in range(1_000):
        ws.send(garbage[i % len(garbage)])
    ws.send_binary(b"\xff\x00binary")
    errors = read_errors(ws, 1_001)
    assert all(isinstance(e["error"], str) and e["error"] for e in errors)
    served.still_served()
    ws.close()


def test_one_megabyte_frames(served: Served) -> None:
    ws = served.raw()
    big = json.dumps({"subscribe": {"request_id": "big", "subscription_type": 3,
                                    "market_slugs": ["x" * 100] * 9_000}})
    assert 900_000 < len(big) <= served.server.max_message_size
    for _ in range(5):
        ws.send(big)
    errors = read_errors(ws, 5)
    assert all(e.get("request_id", e.get("requestId")) == "big" for e in errors)
    served.still_served()
    # over the limit: the server closes that connection with 1009
    ws.send("x" * (served.server.max_message_size + 1))
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        while True:
            opcode, frame = ws.recv_data_frame(True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                assert int.from_bytes(frame.data[:2], "big") == 1009
                ws.recv()
    served.still_served()


def test_subscribe_flood(served: Served) -> None:
    ws = served.raw(timeout=30)
    slug = served.server.markets[0]
    n = 5_000
    for i in range(n):
        ws.send(json.dumps({"subscribe": {"request_id": f"flood-{i}", "subscription_type": 3,
                                          "market_slugs": [slug]}}))
    errors = read_errors(ws, n - LIMIT, timeout=30)
    assert all("too many subscriptions" in e["error"] for e in errors)
    live = [c for c in served.server.connections if len(c.subscriptions) == LIMIT]
    assert len(live) == 1
    served.still_served()
    ws.close()


def test_handshake_that_stops_halfway(served: Served) -> None:
    host, port = served.server.host, served.server.port
    socks = []
    for _ in range(20):
        s = socket.create_connection((host, port), timeout=10)
        s.sendall(b"GET /v1/ws/markets HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n")
        socks.append(s)
    served.still_served()
    started = time.monotonic()
    for s in socks:
        try:
            while s.recv(4096):  # the server gives up after open_timeout and closes
                pass
        except ConnectionResetError:
            pass
        s.close()
    assert time.monotonic() - started < served.server.open_timeout + 5
    served.still_served()


def test_thousands_of_connects_and_drops(served: Served) -> None:
    host, port = served.server.host, served.server.port
    deadline = time.monotonic() + 20
    done = handshakes = 0
    while done < 2_000 and time.monotonic() < deadline:
        if done % 4 == 0:  # a full handshake, then an abrupt close
            ws = served.raw()
            ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            ws.sock.close()
            handshakes += 1
        else:  # TCP connect and drop, no HTTP at all
            s = socket.create_connection((host, port), timeout=5)
            s.close()
        done += 1
        if done % 500 == 0:
            served.still_served(5)
    assert done >= 1_000, f"only {done} connects in 20 s"
    served.still_served()
    wait_until(lambda: len(served.server.connections) <= 1, 15, "abusive connections to go away")
    accepted = [h for h in served.server.handshakes if h.status == 101]
    assert len(accepted) >= handshakes


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError):
        MockServer(open_timeout=0)
    with pytest.raises(ValueError):
        MockServer(max_subscriptions=0)
    assert threading.active_count() >= 1
