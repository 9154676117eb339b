"""Fault injection, from Python and through the HTTP control API."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from typing import Any

import pytest
import websocket

from mockserver import MockServer
from mockserver_helpers import MARKETS, PRIVATE, connect, http_get, recv_json, recv_until, subscribe


def control(server: MockServer, route: str) -> tuple[int, Any]:
    status, _, body = http_get(server, route)
    return status, json.loads(body)


def test_drop_connections_without_close_frame(quiet_server: MockServer) -> None:
    a, b = connect(quiet_server, PRIVATE), connect(quiet_server, MARKETS)
    quiet_server.wait_for_connection(path=MARKETS)
    quiet_server.wait_for_connection(path=PRIVATE)
    assert quiet_server.drop_connections(path="private") == 1
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
        a.recv_data_frame(control_frame=True)  # EOF, not a close frame
    quiet_server.wait_for_connection(path=MARKETS)
    assert [c.path for c in quiet_server.connections] in ([MARKETS], [PRIVATE, MARKETS])
    assert quiet_server.drop_connections() >= 1
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
        b.recv_data_frame(control_frame=True)
    quiet_server.wait_for_no_connections()


@pytest.mark.parametrize("via_http", [False, True])
def test_close_connections_with_code_and_reason(quiet_server: MockServer, via_http: bool) -> None:
    ws = connect(quiet_server, MARKETS)
    quiet_server.wait_for_connection()
    if via_http:
        assert control(quiet_server, "/control/close?code=1011&reason=overloaded") == (
            200, {"ok": True, "closed": 1})
    else:
        assert quiet_server.close_connections(1011, "overloaded") == 1
    opcode, frame = ws.recv_data_frame(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert struct.unpack("!H", frame.data[:2])[0] == 1011 and frame.data[2:] == b"overloaded"
    ws.send_close()  # answer the closing handshake, as a client should
    ws.shutdown()
    quiet_server.wait_for_no_connections()


def test_close_rejects_bad_codes(quiet_server: MockServer) -> None:
    with pytest.raises(ValueError):
        quiet_server.close_connections(1005)
    status, body = control(quiet_server, "/control/close?code=abc")
    assert status == 400 and body == {"ok": False, "error": "parameter 'code' must be an integer, got 'abc'"}
    status, body = control(quiet_server, "/control/close?code=999")
    assert status == 400 and "invalid close code" in body["error"]


def test_stop_and_resume_heartbeats(pm_mockserver_factory) -> None:  # type: ignore[no-untyped-def]
    server: MockServer = pm_mockserver_factory(heartbeat_interval=0.05)
    server.pause_ticker()
    ws = connect(server, PRIVATE)
    assert recv_json(ws, heartbeats=True) == {"heartbeat": {}}
    server.stop_heartbeats()
    # drain at most one heartbeat already in flight, then silence while the connection stays open
    ws.settimeout(0.3)
    received = []
    with pytest.raises(websocket.WebSocketTimeoutException):
        for _ in range(3):
            received.append(ws.recv())
    assert len(received) <= 1
    assert len(server.connections) == 1
    ws.settimeout(5)
    subscribe(ws, "b", 4)  # still serving requests
    assert "account_balances_snapshot" in recv_json(ws)
    assert control(server, "/control/heartbeats/resume")[0] == 200
    assert recv_json(ws, heartbeats=True) == {"heartbeat": {}}
    assert control(server, "/control/heartbeats/stop") == (200, {"ok": True, "heartbeats": "stopped"})
    assert server.heartbeats_stopped
    ws.close()


@pytest.mark.parametrize("status,retry_after", [(503, 2), (429, None), (401, None)])
def test_reject_next_handshakes(quiet_server: MockServer, status: int, retry_after: int | None) -> None:
    quiet_server.reject_handshakes(2, status=status, retry_after=retry_after)
    for _ in range(2):
        with pytest.raises(websocket.WebSocketBadStatusException) as info:
            connect(quiet_server, MARKETS)
        assert info.value.status_code == status
        headers = {k.lower(): v for k, v in (info.value.resp_headers or {}).items()}
        assert headers.get("retry-after") == (None if retry_after is None else str(retry_after))
        assert b"fault injection" in (info.value.resp_body or b"")
    connect(quiet_server, MARKETS).close()  # the third one gets through
    assert [h.status for h in quiet_server.handshakes] == [status, status, 101]


def test_reject_via_control_api(quiet_server: MockServer) -> None:
    assert control(quiet_server, "/control/reject?count=1&status=503&retry_after=1")[0] == 200
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        connect(quiet_server, PRIVATE)
    assert info.value.status_code == 503
    assert control(quiet_server, "/control/reject?count=-1")[0] == 400
    assert control(quiet_server, "/control/reject?status=99")[1]["error"].startswith("status must be")
    assert control(quiet_server, "/control/reject?status=101")[0] == 400
    connect(quiet_server, PRIVATE).close()


def test_delay_every_outgoing_message(quiet_server: MockServer) -> None:
    ws = connect(quiet_server, PRIVATE)
    quiet_server.set_delay(0.2)
    start = time.monotonic()
    subscribe(ws, "b", 4)
    recv_json(ws)
    subscribe(ws, "b2", 4)
    recv_json(ws)
    assert time.monotonic() - start >= 0.4
    assert control(quiet_server, "/control/delay?seconds=0")[0] == 200
    assert control(quiet_server, "/control/delay")[1] == {"ok": False, "error": "missing parameter 'seconds'"}
    assert control(quiet_server, "/control/delay?seconds=-1")[0] == 400
    assert control(quiet_server, "/control/delay?seconds=nan")[0] == 400
    with pytest.raises(ValueError):
        quiet_server.set_delay(-0.1)
    ws.close()


@pytest.mark.parametrize("via_http", [False, True])
def test_odd_frames(quiet_server: MockServer, via_http: bool) -> None:
    ws = connect(quiet_server, MARKETS)
    quiet_server.wait_for_connection()
    if via_http:
        for kind in ("malformed", "unknown", "binary"):
            assert control(quiet_server, f"/control/send/{kind}") == (200, {"ok": True, "sent": 1})
        assert control(quiet_server, "/control/send/oversized?size=2000000")[0] == 200
    else:
        assert quiet_server.send_malformed() == 1
        assert quiet_server.send_unknown_payload(path=MARKETS) == 1
        assert quiet_server.send_binary() == 1
        assert quiet_server.send_oversized(2_000_000) == 1
    frames = []
    while len(frames) < 4:
        opcode, data = ws.recv_data()
        if data != b'{"heartbeat":{}}':
            frames.append((opcode, data))
    (op1, malformed), (op2, unknown), (op3, binary), (op4, big) = frames
    assert op1 == op2 == op4 == websocket.ABNF.OPCODE_TEXT and op3 == websocket.ABNF.OPCODE_BINARY
    with pytest.raises(ValueError):
        json.loads(malformed)
    assert list(json.loads(unknown)) == ["mockserver_unknown_payload"]
    with pytest.raises(UnicodeDecodeError):
        binary.decode()
    assert len(big) == 2_000_000 and json.loads(big)
    # the connection still works and nothing was counted as a server bug
    subscribe(ws, "l", 2, [quiet_server.markets[0]])
    assert "market_data_lite" in recv_json(ws)
    ws.close()
    assert control(quiet_server, "/control/send/oversized?size=3")[0] == 400


def test_path_filter_on_faults(quiet_server: MockServer) -> None:
    a = connect(quiet_server, PRIVATE)
    quiet_server.wait_for_connection(path=PRIVATE)
    assert quiet_server.send_malformed(path="markets") == 0
    assert control(quiet_server, "/control/send/malformed?path=/v1/ws/nowhere")[0] == 400
    with pytest.raises(ValueError):
        quiet_server.drop_connections(path="nowhere")
    a.close()


def test_ticker_pause_resume_and_manual_tick(pm_mockserver_factory) -> None:  # type: ignore[no-untyped-def]
    server: MockServer = pm_mockserver_factory(tick_interval=0.02)
    assert control(server, "/control/ticker/pause") == (200, {"ok": True, "ticker": "paused"})
    ws = connect(server, MARKETS)
    subscribe(ws, "md", 1, server.markets)
    for _ in server.markets:
        recv_json(ws)
    ws.settimeout(0.3)
    with pytest.raises(websocket.WebSocketTimeoutException):
        recv_json(ws)  # paused: no updates (heartbeats are skipped by recv_json, interval 1 s)
    ws.settimeout(5)
    status, body = control(server, "/control/tick")
    assert status == 200 and body["ok"] and body["events"]
    assert "market_data" in recv_json(ws)
    events = server.tick()
    assert any(e.kind == "market_data" for e in events)
    server.resume_ticker()
    assert not server.ticker_paused
    seen = 0
    while seen < 5:
        recv_json(ws)
        seen += 1
    ws.close()


def test_injections_via_control_api(quiet_server: MockServer) -> None:
    slug = quiet_server.markets[0]
    priv = connect(quiet_server, PRIVATE, query="?dialect=camel")
    mkt = connect(quiet_server, MARKETS)
    subscribe(priv, "b", 4)
    subscribe(priv, "o", 1)
    subscribe(mkt, "t", 3, [slug])
    subscribe(mkt, "md", 1, [slug])
    recv_json(mkt)
    recv_until(priv, lambda m: m.get("orderSubscriptionSnapshot", {}).get("eof") is True)
    quiet_server.wait_for_subscription("SUBSCRIPTION_TYPE_TRADE")

    status, body = control(quiet_server, f"/control/inject/trade?slug={slug}")
    assert status == 200 and body["events"][0] == {"kind": "trade", "slug": slug}
    assert "trade" in recv_until(mkt, lambda m: "trade" in m)

    status, body = control(quiet_server, "/control/inject/balance?amount=12.34&description=Bonus")
    assert status == 200
    change = recv_until(priv, lambda m: "accountBalancesUpdate" in m)["accountBalancesUpdate"]["balanceChange"]
    assert change["description"] == "Bonus" and change["entryType"] == "LEDGER_ENTRY_TYPE_DEPOSIT"

    status, body = control(quiet_server, "/control/inject/fill")
    assert status == 200 and [e["kind"] for e in body["events"]][:2] == ["order_update", "trade"]
    assert "orderSubscriptionUpdate" in recv_until(priv, lambda m: "orderSubscriptionUpdate" in m)

    status, body = control(quiet_server, f"/control/inject/market_state?slug={slug}&state=MARKET_STATE_HALTED")
    assert status == 200
    halted = recv_until(mkt, lambda m: m.get("market_data", {}).get("state") == "MARKET_STATE_HALTED")
    assert halted["market_data"]["market_slug"] == slug

    assert control(quiet_server, "/control/inject/market_state?slug=x&state=MARKET_STATE_HALTED") == (
        400, {"ok": False, "error": "unknown market slug 'x'"})
    assert control(quiet_server, f"/control/inject/market_state?slug={slug}&state=BOGUS")[0] == 400
    assert control(quiet_server, "/control/inject/market_state")[1]["error"] == "missing parameter 'slug'"
    assert control(quiet_server, "/control/inject/trade?slug=nope")[0] == 400
    assert control(quiet_server, "/control/inject/balance?amount=ten")[0] == 400
    assert control(quiet_server, "/control/inject/fill?order_id=nope")[0] == 400
    assert control(quiet_server, "/control/inject/rfq")[0] == 200
    priv.close()
    mkt.close()


def test_control_api_misc(quiet_server: MockServer) -> None:
    status, headers, body = http_get(quiet_server, "/control/markets")
    assert status == 200 and json.loads(body) == quiet_server.markets and len(quiet_server.markets) >= 5
    status, body2 = control(quiet_server, "/control/nope")
    assert status == 404 and body2["ok"] is False and "unknown control route" in body2["error"]
    assert control(quiet_server, "/control/tick?x=1") == (
        400, {"ok": False, "error": "unknown parameter 'x' for /control/tick; it takes none"})
    ws = connect(quiet_server, PRIVATE)
    subscribe(ws, "b", 4)
    recv_json(ws)
    conns = control(quiet_server, "/control/connections")[1]["connections"]
    assert conns[0]["subscriptions"] == {"b": {"subscription_type": "SUBSCRIPTION_TYPE_ACCOUNT_BALANCE",
                                               "market_slugs": []}}
    assert control(quiet_server, "/control/handshakes")[1]["handshakes"][-1]["status"] == 101
    status, headers, journal = http_get(quiet_server, "/control/journal")
    lines = [json.loads(x) for x in journal.decode().splitlines()]
    assert status == 200 and lines[0]["direction"] == "in" and lines[1]["direction"] == "out"
    ws.close()
    assert control(quiet_server, "/control/clear") == (200, {"ok": True, "cleared": True})
    assert quiet_server.connections == [] and len(quiet_server.journal) == 0


def test_clear_resets_everything(quiet_server: MockServer) -> None:
    before = quiet_server.open_order_ids
    quiet_server.inject_fill(before[0])
    quiet_server.set_delay(0.01)
    quiet_server.stop_heartbeats()
    quiet_server.reject_handshakes(3)
    quiet_server.clear()
    assert quiet_server.open_order_ids == before
    assert not quiet_server.heartbeats_stopped and not quiet_server.ticker_paused
    assert quiet_server.handshakes == [] and len(quiet_server.journal) == 0
    connect(quiet_server, MARKETS).close()  # no rejection pending


def test_check_assertions_reports_handler_failures(pm_mockserver_factory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    server: MockServer = pm_mockserver_factory()
    server.pause_ticker()

    def boom(sub: Any) -> list[Any]:
        raise RuntimeError("snapshot exploded")

    monkeypatch.setattr(server._publisher, "snapshot", boom)
    ws = connect(server, PRIVATE)
    subscribe(ws, "b", 4)
    ws.send(json.dumps({"unsubscribe": {"request_id": "zzz"}}))
    assert "error" in recv_json(ws)  # the handler survived and answered the next request
    ws.close()
    with pytest.raises(AssertionError, match="snapshot exploded"):
        server.check_assertions()
    server.check_assertions()  # reported once


def test_faults_are_thread_safe_while_clients_run(pm_mockserver_factory) -> None:  # type: ignore[no-untyped-def]
    server: MockServer = pm_mockserver_factory(tick_interval=0.01, heartbeat_interval=0.05)
    stop = threading.Event()
    errors: list[BaseException] = []

    def client() -> None:
        try:
            while not stop.is_set():
                try:
                    ws = connect(server, MARKETS)
                except (websocket.WebSocketBadStatusException, OSError):
                    continue
                try:
                    subscribe(ws, "md", 1, server.markets)
                    for _ in range(5):
                        ws.recv()
                except (websocket.WebSocketException, OSError):
                    pass
                finally:
                    ws.close()
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    thread = threading.Thread(target=client, name="test-client")
    thread.start()
    try:
        for _ in range(20):
            server.send_malformed()
            server.set_delay(0.001)
            server.set_delay(0)
            server.stop_heartbeats()
            server.resume_heartbeats()
            server.reject_handshakes(1, 429)
            server.tick()
            server.close_connections(1001, "bye")
            server.drop_connections()
    finally:
        stop.set()
        thread.join(10)
    assert not errors
    server.wait_for_no_connections()
    server.check_assertions()
    with socket.create_connection((server.host, server.port), timeout=5):
        pass
