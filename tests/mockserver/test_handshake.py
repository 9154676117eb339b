"""Handshake: Ed25519 auth on a real socket, 401 bodies, paths, non-upgrade requests, /health."""

from __future__ import annotations

import base64
import json
import socket
import time

import pytest
import websocket
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mockserver import MockServer, demo_credentials
from mockserver_helpers import MARKETS, PRIVATE, connect, http_get, recv_json, sign, subscribe


def reject_of(server: MockServer, path: str, headers: dict[str, str], query: str = "") -> tuple[int, str, dict]:
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        connect(server, path, headers=headers, query=query)
    exc = info.value
    return exc.status_code, (exc.resp_body or b"").decode(), dict(exc.resp_headers or {})


def test_demo_credentials_are_deterministic_and_portal_shaped() -> None:
    key_id, secret = demo_credentials(0)
    assert demo_credentials(0) == (key_id, secret)
    assert demo_credentials(1) != (key_id, secret)
    raw = base64.b64decode(secret)
    assert len(raw) == 64
    public = Ed25519PrivateKey.from_private_bytes(raw[:32]).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert raw[32:] == public
    assert len(key_id) == 36 and key_id.count("-") == 4


@pytest.mark.parametrize("path", [PRIVATE, MARKETS])
def test_valid_signature_is_accepted_on_both_endpoints(pm_mockserver: MockServer, path: str) -> None:
    ws = connect(pm_mockserver, path)
    try:
        info = pm_mockserver.wait_for_connection(path=path)
        assert info.path == path and info.dialect == "snake"
    finally:
        ws.close()
    record = pm_mockserver.handshakes[-1]
    assert (record.path, record.status, record.reason) == (path, 101, "accepted")
    assert record.headers["X-PM-Access-Key"] == demo_credentials(0)[0]


def test_wrong_signature_is_401(pm_mockserver: MockServer) -> None:
    headers = sign(PRIVATE)
    headers["X-PM-Signature"] = sign(MARKETS)["X-PM-Signature"]  # signed for the other path
    status, body, _ = reject_of(pm_mockserver, PRIVATE, headers)
    assert status == 401 and body.strip() == "invalid signature"
    assert pm_mockserver.handshakes[-1].status == 401
    assert pm_mockserver.handshakes[-1].reason == "invalid signature"


def test_signature_by_another_key_is_401(pm_mockserver: MockServer) -> None:
    headers = sign(MARKETS, secret=bytes(range(32)))
    status, body, _ = reject_of(pm_mockserver, MARKETS, headers)
    assert status == 401 and "invalid signature" in body


def test_timestamp_31_seconds_old_is_401(pm_mockserver: MockServer) -> None:
    old = int((time.time() - 31) * 1000)
    status, body, _ = reject_of(pm_mockserver, MARKETS, sign(MARKETS, timestamp_ms=old))
    assert status == 401
    assert body.startswith("timestamp outside the 30 s window (skew 3")


def test_timestamp_from_the_future_is_401(pm_mockserver: MockServer) -> None:
    future = int((time.time() + 45) * 1000)
    status, body, _ = reject_of(pm_mockserver, MARKETS, sign(MARKETS, timestamp_ms=future))
    assert status == 401 and "timestamp outside" in body


def test_timestamp_29_seconds_old_is_fine(pm_mockserver: MockServer) -> None:
    ws = connect(pm_mockserver, MARKETS, headers=sign(MARKETS, timestamp_ms=int((time.time() - 29) * 1000)))
    ws.close()


@pytest.mark.parametrize("missing", ["X-PM-Access-Key", "X-PM-Timestamp", "X-PM-Signature"])
def test_missing_header_is_401(pm_mockserver: MockServer, missing: str) -> None:
    headers = sign(PRIVATE)
    del headers[missing]
    status, body, _ = reject_of(pm_mockserver, PRIVATE, headers)
    assert status == 401 and body.strip() == f"missing header {missing}"


def test_unknown_key_is_401(pm_mockserver: MockServer) -> None:
    headers = sign(PRIVATE, key_id="00000000-0000-4000-8000-000000000000")
    status, body, _ = reject_of(pm_mockserver, PRIVATE, headers)
    assert status == 401 and body.strip() == "unknown access key"


def test_non_numeric_timestamp_and_non_base64_signature(pm_mockserver: MockServer) -> None:
    headers = sign(PRIVATE)
    headers["X-PM-Timestamp"] = "yesterday"
    assert "invalid timestamp" in reject_of(pm_mockserver, PRIVATE, headers)[1]
    headers = sign(PRIVATE)
    headers["X-PM-Signature"] = "!!not base64!!"
    assert "invalid signature" in reject_of(pm_mockserver, PRIVATE, headers)[1]


def test_query_string_is_not_part_of_the_signed_path(pm_mockserver: MockServer) -> None:
    ws = connect(pm_mockserver, MARKETS, query="?dialect=camel")
    try:
        assert pm_mockserver.wait_for_connection().dialect == "camel"
    finally:
        ws.close()


def test_unknown_dialect_is_400(pm_mockserver: MockServer) -> None:
    status, body, _ = reject_of(pm_mockserver, MARKETS, sign(MARKETS), query="?dialect=xml")
    assert status == 400 and "unknown dialect 'xml'" in body


def test_extra_keys_and_clock_injection(pm_mockserver_factory) -> None:  # type: ignore[no-untyped-def]
    secret = bytes([7]) * 32
    public = Ed25519PrivateKey.from_private_bytes(secret).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    server: MockServer = pm_mockserver_factory(keys={"my-key": base64.b64encode(public).decode()},
                                               clock=lambda: 1_700_000_000.0)
    ws = connect(server, PRIVATE, headers=sign(PRIVATE, key_id="my-key", secret=secret,
                                               timestamp_ms=1_700_000_010_000))
    ws.close()
    status, body, _ = reject_of(server, PRIVATE, sign(PRIVATE, key_id="my-key", secret=secret))
    assert status == 401 and "timestamp outside" in body


def test_auth_false_accepts_anything(pm_mockserver_factory) -> None:  # type: ignore[no-untyped-def]
    server: MockServer = pm_mockserver_factory(auth=False)
    ws = connect(server, MARKETS, headers={})
    ws.close()


def test_replayed_signature_is_rejected_when_asked(pm_mockserver_factory) -> None:  # type: ignore[no-untyped-def]
    server: MockServer = pm_mockserver_factory(reject_replayed_signatures=True)
    headers = sign(PRIVATE)
    connect(server, PRIVATE, headers=headers).close()
    status, body, _ = reject_of(server, PRIVATE, headers)
    assert status == 401 and body.strip() == "replayed signature"
    connect(server, PRIVATE).close()  # a fresh signature is fine


def test_unknown_path_is_404(pm_mockserver: MockServer) -> None:
    status, body, _ = reject_of(pm_mockserver, "/v1/ws/other", sign("/v1/ws/other"))
    assert status == 404 and "not found" in body
    assert http_get(pm_mockserver, "/nothing/here")[0] == 404


def test_health(pm_mockserver: MockServer) -> None:
    ws = connect(pm_mockserver, MARKETS)
    try:
        pm_mockserver.wait_for_connection()
        status, headers, body = http_get(pm_mockserver, "/health")
        data = json.loads(body)
        assert status == 200 and headers["Content-Type"] == "application/json"
        assert data["status"] == "ok" and data["connections"] == 1 and data["uptime_s"] >= 0
    finally:
        ws.close()


def raw_exchange(server: MockServer, payload: bytes) -> bytes:
    complete = payload.endswith(b"\r\n\r\n") and payload.startswith(b"GET")
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(payload)
        if not complete:  # let the server see EOF instead of waiting for the rest
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


@pytest.mark.parametrize("payload", [
    b"GET /v1/ws/markets HTTP/1.1\r\nHost: x\r\n\r\n",  # plain GET on an endpoint: not an upgrade
    b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    b"HEAD / HTTP/1.1\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage-like-a-tls-hello",
    b"GET /health HTTP/1.1\r\n" + b"X-Long: " + b"a" * 10000 + b"\r\n\r\n",
    b"",
])
def test_non_upgrade_requests_never_crash_the_server(pm_mockserver: MockServer, payload: bytes,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    raw_exchange(pm_mockserver, payload)
    assert http_get(pm_mockserver, "/health")[0] == 200
    ws = connect(pm_mockserver, MARKETS)
    subscribe(ws, "x", 2, [pm_mockserver.markets[0]])
    assert "market_data_lite" in recv_json(ws)
    ws.close()
    assert not [r for r in caplog.records if r.exc_info or r.levelname in ("ERROR", "CRITICAL")]


def test_plain_get_on_endpoint_is_426_and_recorded(pm_mockserver: MockServer) -> None:
    reply = raw_exchange(pm_mockserver, b"GET /v1/ws/markets HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 426")
    record = pm_mockserver.handshakes[-1]
    assert (record.status, record.reason) == (426, "not a WebSocket upgrade")


def test_signatures_are_not_logged(pm_mockserver: MockServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    headers = sign(PRIVATE)
    connect(pm_mockserver, PRIVATE, headers=headers).close()
    assert "X-PM-Signature" in caplog.text  # the header dump is there ...
    assert headers["X-PM-Signature"] not in caplog.text  # ... without the signature
    assert demo_credentials(0)[1] not in caplog.text
