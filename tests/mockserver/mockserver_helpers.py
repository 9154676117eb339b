"""Helpers for the mockserver tests: plain websocket-client connections, signed on our own."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import websocket
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mockserver import MockServer, demo_credentials

PRIVATE = "/v1/ws/private"
MARKETS = "/v1/ws/markets"


def sign(path: str, seed: int = 0, timestamp_ms: int | None = None,
         key_id: str | None = None, secret: bytes | None = None) -> dict[str, str]:
    """The three X-PM-* headers, signed independently of pmsync."""
    demo_id, demo_secret = demo_credentials(seed)
    raw = secret if secret is not None else base64.b64decode(demo_secret)[:32]
    private = Ed25519PrivateKey.from_private_bytes(raw)
    ts = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
    signature = private.sign(f"{ts}GET{path}".encode())
    return {
        "X-PM-Access-Key": key_id or demo_id,
        "X-PM-Timestamp": ts,
        "X-PM-Signature": base64.b64encode(signature).decode(),
    }


def connect(server: MockServer, path: str, *, query: str = "", headers: dict[str, str] | None = None,
            timeout: float = 5.0) -> websocket.WebSocket:
    """A websocket-client connection to ``path`` with freshly signed headers."""
    hdrs = sign(path, server.seed) if headers is None else headers
    return websocket.create_connection(
        server.url + path + query, header=[f"{k}: {v}" for k, v in hdrs.items()],
        timeout=timeout, skip_utf8_validation=True,
    )


def recv_json(ws: websocket.WebSocket, *, heartbeats: bool = False) -> dict[str, Any]:
    """The next JSON message (skipping heartbeats unless asked)."""
    while True:
        text = ws.recv()
        msg = json.loads(text, parse_float=Decimal)
        assert isinstance(msg, dict)
        if heartbeats or "heartbeat" not in msg:
            return msg


def recv_until(ws: websocket.WebSocket, pred: Callable[[dict[str, Any]], bool],
               timeout: float = 5.0) -> dict[str, Any]:
    """Skip messages until one satisfies ``pred`` (bounded by ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = recv_json(ws)
        if pred(msg):
            return msg
    raise AssertionError("no matching message before the deadline")


def subscribe(ws: websocket.WebSocket, rid: str, sub_type: int | str,
              slugs: list[str] | None = None, camel: bool = False) -> None:
    """Send a subscribe request in either dialect."""
    body: dict[str, Any] = ({"requestId": rid, "subscriptionType": sub_type} if camel
                            else {"request_id": rid, "subscription_type": sub_type})
    if slugs is not None:
        body["marketSlugs" if camel else "market_slugs"] = slugs
    ws.send(json.dumps({"subscribe": body}))


def http_get(server: MockServer, path: str) -> tuple[int, dict[str, str], bytes]:
    """GET ``path`` on the server's port: (status, headers, body), errors included."""
    try:
        with urllib.request.urlopen(server.http_url + path, timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()
