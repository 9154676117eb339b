"""The opening handshake of the mock server: demo keys, signature checks, HTTP answers.

:class:`Handshakes` decides each upgrade request on an endpoint path (fault
rejections, dialect, the signed ``X-PM-*`` headers) and remembers the most
recent outcomes; other HTTP paths (``/health``, ``/control/...``) go to the
server's own HTTP handler.
"""

from __future__ import annotations

import base64
import binascii
import collections
import email.utils
import hashlib
import http
import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from websockets.datastructures import Headers
from websockets.http11 import Request as HttpRequest
from websockets.http11 import Response as HttpResponse
from websockets.sync.server import ServerConnection

from .faults import Faults
from .protocol import DIALECTS, ENDPOINTS

__all__ = [
    "HISTORY_SIZE",
    "HandshakeRecord",
    "Handshakes",
    "MockConnection",
    "demo_credentials",
    "http_response",
    "json_response",
    "public_key",
    "ws_logger",
]

log = logging.getLogger("mockserver.handshake")

#: Handshake records (and accepted connections) remembered, the most recent ones.
HISTORY_SIZE = 10_000

_AUTH_HEADERS = ("X-PM-Access-Key", "X-PM-Timestamp", "X-PM-Signature")


def demo_credentials(seed: int = 0) -> tuple[str, str]:
    """The demo API key of ``seed``: ``(key_id, secret_key_b64)``.

    The secret is the portal format, base64 of 64 bytes (32-byte seed then the
    32-byte public key); both halves are derived from ``sha256`` of the seed.
    """
    key_seed = hashlib.sha256(f"mockserver-demo-secret-{seed}".encode()).digest()
    key_id = str(uuid.UUID(bytes=hashlib.sha256(f"mockserver-demo-key-id-{seed}".encode()).digest()[:16],
                           version=4))
    public = Ed25519PrivateKey.from_private_bytes(key_seed).public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw
    )
    return key_id, base64.b64encode(key_seed + public).decode("ascii")


def public_key(value: bytes | str) -> Ed25519PublicKey:
    """An Ed25519 public key from 32 raw bytes or their base64; ``ValueError`` otherwise."""
    raw = value
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("public key is not valid base64") from None
    if not isinstance(raw, bytes) or len(raw) != 32:
        raise ValueError("public key must be 32 raw bytes (or their base64)")
    return Ed25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True)
class HandshakeRecord:
    """One upgrade attempt on an endpoint path: the outcome and why."""

    path: str
    headers: dict[str, str]
    status: int
    reason: str
    time: float


def http_response(
    status: int, body: str | bytes, content_type: str = "text/plain; charset=utf-8",
    extra: Iterable[tuple[str, str]] = (),
) -> HttpResponse:
    """An HTTP response that closes the connection."""
    data = body.encode() if isinstance(body, str) else body
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    headers = Headers([
        ("Date", email.utils.formatdate(usegmt=True)),
        ("Connection", "close"),
        ("Content-Length", str(len(data))),
        ("Content-Type", content_type),
        *extra,
    ])
    return HttpResponse(status, phrase, headers, data)


def json_response(status: int, obj: Any) -> HttpResponse:
    """``obj`` as a JSON HTTP response."""
    return http_response(status, json.dumps(obj) + "\n", "application/json")


_ws_seq = itertools.count(1)


class MockConnection(ServerConnection):
    """A ServerConnection that names its threads and carries handshake info."""

    mock_endpoint: str = ""
    mock_dialect: str = "snake"
    mock_reason: str = ""
    mock_record: bool = False
    mock_headers: dict[str, str]
    mock_raw_path: str = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        n = next(_ws_seq)
        threading.current_thread().name = f"mockserver-conn-{n}"
        self.handler_thread = threading.current_thread()
        super().__init__(*args, **kwargs)
        self.recv_events_thread.name = f"mockserver-recv-{n}"
        self.mock_headers = {}


class _RedactSignatures(logging.Filter):
    """Keep handshake signatures out of websockets' DEBUG header dumps."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 2 and str(args[0]).lower() == "x-pm-signature":
            record.args = (args[0], "<redacted>")
        return True


#: The logger given to ``websockets`` (signatures redacted).
ws_logger = logging.getLogger("mockserver.websockets")
ws_logger.addFilter(_RedactSignatures())

HttpHandler = Callable[[str, dict[str, list[str]]], HttpResponse | None]


class Handshakes:
    """Upgrade decisions and their history (thread-safe).

    ``http`` answers any path that is not an endpoint (``None``: 404);
    ``clock`` (epoch seconds) checks the timestamp skew.
    """

    def __init__(self, seed: int, keys: Mapping[str, bytes | str] | None, *, faults: Faults,
                 dialect: str, auth: bool, skew_seconds: float, clock: Callable[[], float],
                 reject_replayed_signatures: bool, http: HttpHandler) -> None:
        self.demo_key_id, self.demo_secret_key = demo_credentials(seed)
        self._lock = threading.Lock()
        self._keys = {self.demo_key_id: public_key(base64.b64decode(self.demo_secret_key)[32:])}
        for key_id, public in (keys or {}).items():
            self._keys[key_id] = public_key(public)
        self.faults, self.dialect, self.auth = faults, dialect, auth
        self.skew_seconds, self.clock = float(skew_seconds), clock
        self.reject_replayed_signatures = reject_replayed_signatures
        self._http = http
        self._records: collections.deque[HandshakeRecord] = collections.deque(maxlen=HISTORY_SIZE)
        self._seen: dict[str, float] = {}  # signature -> when it leaves the skew window

    def add_key(self, key_id: str, key: bytes | str) -> None:
        """Register another API key."""
        parsed = public_key(key)
        with self._lock:
            self._keys[key_id] = parsed

    @property
    def records(self) -> list[HandshakeRecord]:
        """The most recent upgrade attempts (at most :data:`HISTORY_SIZE`), oldest first."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        """Forget the history and the signatures seen."""
        with self._lock:
            self._records.clear()
            self._seen.clear()

    def process_request(self, ws: ServerConnection, request: HttpRequest) -> HttpResponse | None:
        """The ``process_request`` hook of ``websockets``: answer now, or ``None`` to upgrade."""
        assert isinstance(ws, MockConnection)
        parts = urlsplit(request.path)
        path = parts.path
        query = parse_qs(parts.query, keep_blank_values=True)
        if path not in ENDPOINTS:
            answer = self._http(path, query)
            if answer is None:
                return http_response(404, f"not found: {path} (endpoints: /v1/ws/private, /v1/ws/markets)\n")
            return answer
        ws.mock_record = True
        ws.mock_raw_path = request.path
        ws.mock_endpoint = path
        ws.mock_headers = {k: v for k, v in request.headers.raw_items()}
        if "websocket" not in request.headers.get("Upgrade", "").lower():
            ws.mock_reason = "not a WebSocket upgrade"
            return None  # websockets answers 426 Upgrade Required
        rejection = self.faults.take_rejection()
        if rejection is not None:
            ws.mock_reason = f"fault injection: rejected with {rejection.status}"
            extra = []
            if rejection.retry_after is not None:
                ra = rejection.retry_after
                extra.append(("Retry-After", str(int(ra)) if float(ra).is_integer() else str(ra)))
            return http_response(rejection.status, rejection.body, extra=extra)
        dialects = query.get("dialect")
        dialect = self.dialect
        if dialects:
            dialect = dialects[-1]
            if dialect not in DIALECTS:
                ws.mock_reason = f"unknown dialect {dialect!r}"
                return http_response(400, f"unknown dialect {dialect!r}; expected snake or camel\n")
        ws.mock_dialect = dialect
        if self.auth:
            problem = self.check_auth(request.headers, path)
            if problem is not None:
                ws.mock_reason = problem
                log.info("handshake on %s rejected: %s", path, problem)
                return http_response(401, problem + "\n")
        ws.mock_reason = "accepted"
        return None

    def check_auth(self, headers: Headers, path: str) -> str | None:
        """Why the signed headers are refused, or ``None`` if they are good."""
        values: dict[str, str] = {}
        for name in _AUTH_HEADERS:
            value = headers.get(name)
            if value is None or not value.strip():
                return f"missing header {name}"
            values[name] = value.strip()
        with self._lock:
            key = self._keys.get(values["X-PM-Access-Key"])
        if key is None:
            return "unknown access key"
        timestamp = values["X-PM-Timestamp"]
        if not timestamp.isdigit():
            return f"invalid timestamp {timestamp[:32]!r}: expected Unix milliseconds"
        try:
            signature = base64.b64decode(values["X-PM-Signature"], validate=True)
        except (binascii.Error, ValueError):
            return "invalid signature (not base64)"
        try:
            key.verify(signature, f"{timestamp}GET{path}".encode())
        except InvalidSignature:
            return "invalid signature"
        now = self.clock()
        skew = abs(now - int(timestamp) / 1000.0)
        if skew > self.skew_seconds:
            window = f"{self.skew_seconds:g}"
            return f"timestamp outside the {window} s window (skew {skew:.1f} s)"
        if self.reject_replayed_signatures:
            with self._lock:
                # a signature whose timestamp left the window is refused for its skew: forget it
                self._seen = {s: until for s, until in self._seen.items() if until >= now}
                if values["X-PM-Signature"] in self._seen:
                    return "replayed signature"
                self._seen[values["X-PM-Signature"]] = int(timestamp) / 1000.0 + self.skew_seconds
        return None

    def process_response(
        self, ws: ServerConnection, request: HttpRequest, response: HttpResponse
    ) -> HttpResponse | None:
        """The ``process_response`` hook of ``websockets``: record the outcome of an endpoint request."""
        assert isinstance(ws, MockConnection)
        if ws.mock_record:
            reason = ws.mock_reason
            if response.status_code != 101 and reason == "accepted":
                reason = (response.body or b"").decode("utf-8", "replace").strip() or response.reason_phrase
            record = HandshakeRecord(ws.mock_raw_path, dict(ws.mock_headers), response.status_code,
                                     reason, time.time())
            with self._lock:
                self._records.append(record)
        return None
