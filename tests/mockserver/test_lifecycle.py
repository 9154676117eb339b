"""Lifecycle: threads back to baseline after stop(), 100 abrupt clients, the pytest fixtures."""

from __future__ import annotations

import json
import logging
import socket
import threading

import pytest
import websocket

from mockserver import MockServer, demo_credentials
from mockserver_helpers import MARKETS, PRIVATE, connect, http_get, recv_json, subscribe


def thread_names() -> list[str]:
    return sorted(t.name for t in threading.enumerate())


def test_threads_are_named_and_back_to_baseline_after_stop() -> None:
    baseline = thread_names()
    server = MockServer(heartbeat_interval=0.05, tick_interval=0.01, close_timeout=0.2)
    with server:
        ws = connect(server, PRIVATE)
        subscribe(ws, "o", 1)
        recv_json(ws)
        mkt = connect(server, MARKETS)
        server.wait_for_connection(path=MARKETS)
        new = [n for n in thread_names() if n not in baseline]
        assert new and all(n.startswith("mockserver-") for n in new), new
        http_get(server, "/health")
        # leave both clients connected: stop() must close them itself
    # nothing new is left (threads of other tests' servers may finish meanwhile, hence a subset)
    assert set(thread_names()) <= set(baseline)
    ws.close()
    mkt.close()
    # stopping twice is harmless; a stopped server can be restarted
    server.stop()
    with server:
        connect(server, MARKETS).close()
    assert set(thread_names()) <= set(baseline)


def test_stop_closes_connections_with_a_close_frame() -> None:
    with MockServer() as server:
        ws = connect(server, MARKETS)
        server.wait_for_connection()
        stopper = threading.Thread(target=server.stop, name="test-stopper")
        stopper.start()
        opcode, frame = ws.recv_data_frame(control_frame=True)
        while opcode != websocket.ABNF.OPCODE_CLOSE:
            opcode, frame = ws.recv_data_frame(control_frame=True)
        assert int.from_bytes(frame.data[:2], "big") == 1001
        ws.send_close()
        ws.shutdown()
        stopper.join(10)
        assert not stopper.is_alive()


def test_100_clients_dropping_abruptly(pm_mockserver_factory, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    # INFO and up is the server's log; websockets' DEBUG records of expected broken pipes are not
    caplog.set_level(logging.INFO)
    server: MockServer = pm_mockserver_factory(tick_interval=0.01, heartbeat_interval=0.05)
    slugs = server.markets
    for i in range(100):
        path = PRIVATE if i % 2 else MARKETS
        ws = connect(server, path)
        if path == MARKETS:
            subscribe(ws, f"md-{i}", 1, slugs)
        else:
            subscribe(ws, f"o-{i}", 1)
        if i % 3 == 0:
            ws.recv()  # sometimes drop mid-stream, sometimes before reading anything
        # abrupt: no close frame; RST instead of FIN for some
        if i % 4 == 0:
            ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        ws.sock.shutdown(socket.SHUT_RDWR)
        ws.sock.close()
    server.wait_for_no_connections(timeout=10)
    assert server.connections == []
    # still serving
    status, _, body = http_get(server, "/health")
    assert status == 200 and json.loads(body)["connections"] == 0
    ws = connect(server, MARKETS)
    subscribe(ws, "ok", 2, slugs[:1])
    assert "market_data_lite" in recv_json(ws)
    ws.close()
    server.check_assertions()
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING or "Traceback" in r.getMessage()]
    assert not bad, [r.getMessage() for r in bad]


def test_pm_mockserver_fixture_is_cleared_and_shared(pm_mockserver: MockServer,
                                                     pm_mockserver_session: MockServer) -> None:
    assert pm_mockserver is pm_mockserver_session
    assert pm_mockserver.connections == [] and len(pm_mockserver.journal) == 0
    assert not pm_mockserver.ticker_paused


def test_pm_credentials_fixture(pm_mockserver: MockServer, pm_credentials) -> None:  # type: ignore[no-untyped-def]
    from pmsync import Credentials

    assert isinstance(pm_credentials, Credentials)
    assert pm_credentials.key_id == demo_credentials(pm_mockserver.seed)[0]
    headers = pm_credentials.sign_handshake(PRIVATE)
    ws = connect(pm_mockserver, PRIVATE, headers=headers)
    ws.close()


def test_pm_mockserver_factory_makes_independent_servers(pm_mockserver_factory) -> None:  # type: ignore[no-untyped-def]
    a: MockServer = pm_mockserver_factory(dialect="camel", markets=["x-y-2026"])
    b: MockServer = pm_mockserver_factory(seed=1)
    assert a.port != b.port and a.markets == ["x-y-2026"] and b.markets != a.markets
    assert a.demo_key_id != b.demo_key_id


def test_constructor_validation() -> None:
    with pytest.raises(ValueError):
        MockServer(dialect="kebab")
    with pytest.raises(ValueError):
        MockServer(markets=[])
    with pytest.raises(ValueError):
        MockServer(markets=["a", "a"])
    with pytest.raises(ValueError):
        MockServer(keys={"k": b"short"})
    with pytest.raises(ValueError):
        MockServer(heartbeat_interval=0)
