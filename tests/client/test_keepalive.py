"""Keep-alive: the client answers the server's pings and sends its own."""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from websockets.sync.server import ServerConnection, serve

import pmsync

from .conftest import Recorder, wait_until


@pytest.fixture
def credentials() -> pmsync.Credentials:
    raw = Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    return pmsync.Credentials.from_base64("keepalive-test", base64.b64encode(raw).decode())


class _PeerLog(logging.Handler):
    """Collects the raw websockets server's frame log lines."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def peer() -> Iterator[dict[str, Any]]:
    """A bare websockets server that pings every 0.1 s, gives up on a missing
    pong after 0.3 s, and sends a heartbeat every 0.1 s until told to stop."""
    log = _PeerLog()
    logger = logging.getLogger("tests.keepalive.peer")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(log)
    logger.propagate = False
    stop = threading.Event()
    closed: list[Any] = []

    def handler(connection: ServerConnection) -> None:
        try:
            while not stop.wait(0.1):
                connection.send('{"heartbeat":{}}')
        except Exception as exc:  # noqa: BLE001 - recorded for the test
            closed.append(exc)

    server = serve(handler, "127.0.0.1", 0, ping_interval=0.1, ping_timeout=0.3, logger=logger)
    thread = threading.Thread(target=server.serve_forever, name="test-keepalive-peer")
    thread.start()
    try:
        yield {"url": f"ws://127.0.0.1:{server.socket.getsockname()[1]}", "log": log,
               "closed": closed}
    finally:
        stop.set()
        server.shutdown()
        thread.join(5)
        logger.removeHandler(log)


def test_client_answers_server_pings(peer: dict[str, Any], credentials: pmsync.Credentials) -> None:
    beats, disconnects = Recorder(), Recorder()
    client = pmsync.MarketsClient(
        credentials, base_url=peer["url"], ping_interval=0, heartbeat_timeout=2.0,
        on_heartbeat=beats, on_disconnect=disconnects,
    )
    with client:
        beats.wait_count(15)  # 1.5 s: five missed pongs would have closed us
        wait_until(lambda: sum("< PONG" in line for line in peer["log"].lines) >= 5, 3, "pongs")
        assert len(disconnects) == 0 and client.stats()["reconnects"] == 0
    assert not peer["closed"]


def test_client_sends_its_own_pings(peer: dict[str, Any], credentials: pmsync.Credentials) -> None:
    beats = Recorder()
    client = pmsync.MarketsClient(
        credentials, base_url=peer["url"], ping_interval=0.1, on_heartbeat=beats
    )
    with client:
        wait_until(lambda: sum("< PING" in line for line in peer["log"].lines) >= 3, 3, "pings")
        beats.wait_count(3)
