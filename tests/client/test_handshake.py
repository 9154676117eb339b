"""The WebSocket upgrade request, with pytest-httpserver standing in for the server.

A WebSocket upgrade is a plain HTTP GET, so ``httpserver`` sees it and can
answer with any HTTP status; it can never complete the upgrade, which makes it
the right tool for the handshake's failure paths (issue 4: "the client's
upgrade request carries the three headers and the signature verifies for
``timestamp + "GET" + path``; a 401 answer raises ``AuthenticationError``
with no retry"; 429/5xx are retried with a fresh signature every attempt).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import pmsync

MARKETS = "/v1/ws/markets"
PRIVATE = "/v1/ws/private"
AUTH_HEADERS = ("X-PM-Access-Key", "X-PM-Timestamp", "X-PM-Signature")
KEY_ID = "6f1c2b9e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"


# --------------------------------------------------------------------- helpers


def wait_for(predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
    """Poll ``predicate`` until true or ``timeout``; return its last value."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return bool(predicate())
        pause.wait(0.01)


def assert_threads_back_to(baseline: set[threading.Thread], timeout: float = 2.0) -> None:
    """No thread beyond ``baseline`` is alive within ``timeout``."""

    def extra() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t not in baseline and t.is_alive()]

    wait_for(lambda: not extra(), timeout)
    assert not extra(), f"threads left behind: {extra()}"


@pytest.fixture(autouse=True)
def thread_baseline(httpserver: HTTPServer) -> Iterator[set[threading.Thread]]:
    """Every test here leaves no thread behind (the server's own is in the baseline)."""
    baseline = set(threading.enumerate())
    yield baseline
    assert_threads_back_to(baseline)


@pytest.fixture
def secret_b64() -> str:
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode("ascii")


@pytest.fixture
def credentials(secret_b64: str) -> pmsync.Credentials:
    return pmsync.Credentials.from_base64(KEY_ID, secret_b64)


class Recorder:
    """A handler that records each request's auth headers and answers ``status``."""

    def __init__(self, status: int, body: str = "", headers: dict[str, str] | None = None):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(
                {
                    "path": request.path,
                    "method": request.method,
                    "upgrade": request.headers.get("Upgrade", ""),
                    "at": time.monotonic(),
                    **{name: request.headers.get(name) for name in AUTH_HEADERS},
                }
            )
        return Response(self.body, status=self.status, headers=self.headers)


def serve(httpserver: HTTPServer, path: str, recorder: Recorder) -> Recorder:
    httpserver.expect_request(path, method="GET").respond_with_handler(recorder)
    return recorder


def base_url(httpserver: HTTPServer, scheme: str = "ws") -> str:
    url = httpserver.url_for("/").rstrip("/")
    assert url.startswith("http://")
    return url if scheme == "http" else "ws://" + url[len("http://"):]


def verify(credentials: pmsync.Credentials, request: dict[str, Any], path: str) -> None:
    """The request's signature verifies for ``timestamp + "GET" + path``."""
    public = Ed25519PublicKey.from_public_bytes(credentials.public_key)
    message = (request["X-PM-Timestamp"] + "GET" + path).encode()
    public.verify(base64.b64decode(request["X-PM-Signature"], validate=True), message)


# --------------------------------------------------------------------- headers and signature


@pytest.mark.parametrize("scheme", ["ws", "http"])
@pytest.mark.parametrize(
    ("client_class", "path"),
    [(pmsync.MarketsClient, MARKETS), (pmsync.PrivateClient, PRIVATE)],
    ids=["markets", "private"],
)
def test_upgrade_request_is_signed_for_its_path(
    httpserver: HTTPServer,
    credentials: pmsync.Credentials,
    client_class: type[Any],
    path: str,
    scheme: str,
) -> None:
    recorder = serve(httpserver, path, Recorder(401, "stop here"))
    client = client_class(credentials, base_url=base_url(httpserver, scheme))
    assert client.url == f"ws://{httpserver.host}:{httpserver.port}{path}"
    before_ms = time.time() * 1000
    with pytest.raises(pmsync.AuthenticationError):
        client.connect(timeout=5)
    after_ms = time.time() * 1000
    client.close()

    assert len(recorder.requests) == 1
    request = recorder.requests[0]
    assert request["path"] == path
    assert request["method"] == "GET"
    assert request["upgrade"].lower() == "websocket"
    for name in AUTH_HEADERS:
        assert request[name], f"missing header {name}"
    assert request["X-PM-Access-Key"] == KEY_ID
    timestamp = request["X-PM-Timestamp"]
    assert timestamp.isdigit(), timestamp
    # Milliseconds, taken at the attempt (a few seconds of slack for slow CI).
    assert before_ms - 3000 <= int(timestamp) <= after_ms + 3000
    verify(credentials, request, path)
    # The signature is bound to the path: it does not verify for the other one.
    other = PRIVATE if path == MARKETS else MARKETS
    with pytest.raises(InvalidSignature):
        verify(credentials, request, other)


def test_signature_accepts_portal_64_byte_key(httpserver: HTTPServer) -> None:
    """The portal's key format (seed + public key) signs the same way."""
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    credentials = pmsync.Credentials.from_base64(
        KEY_ID, base64.b64encode(seed + public).decode("ascii")
    )
    recorder = serve(httpserver, MARKETS, Recorder(401))
    client = pmsync.MarketsClient(credentials, base_url=base_url(httpserver))
    with pytest.raises(pmsync.AuthenticationError):
        client.connect(timeout=5)
    client.close()
    assert len(recorder.requests) == 1
    verify(credentials, recorder.requests[0], MARKETS)


# --------------------------------------------------------------------- 401 / 403: fatal


@pytest.mark.parametrize(
    ("status", "body"),
    [(401, "invalid signature"), (403, "key revoked")],
)
def test_auth_refusal_raises_authentication_error_without_retry(
    httpserver: HTTPServer, credentials: pmsync.Credentials, status: int, body: str
) -> None:
    recorder = serve(httpserver, MARKETS, Recorder(status, body))
    # Defaults: reconnect=True, unlimited attempts; a 401/403 must still not be retried.
    client = pmsync.MarketsClient(credentials, base_url=base_url(httpserver), backoff_initial=0.01)
    with pytest.raises(pmsync.AuthenticationError) as info:
        client.connect(timeout=5)
    exc = info.value
    assert isinstance(exc, pmsync.HandshakeError)
    assert isinstance(exc, pmsync.ConnectionClosed)
    assert exc.status == status
    assert exc.body == body
    assert body in str(exc)
    assert str(status) in str(exc)
    assert len(recorder.requests) == 1
    assert len(httpserver.log) == 1
    assert not client.connected
    client.close()
    client.close()  # idempotent
    assert len(httpserver.log) == 1


# --------------------------------------------------------------------- 429 / 5xx: retried


@pytest.mark.parametrize("status", [503, 429, 500])
def test_retryable_refusal_retries_with_fresh_signature_then_gives_up(
    httpserver: HTTPServer, credentials: pmsync.Credentials, status: int
) -> None:
    recorder = serve(
        httpserver, MARKETS, Recorder(status, "try later", {"Retry-After": "0"})
    )
    client = pmsync.MarketsClient(
        credentials,
        base_url=base_url(httpserver),
        max_reconnect_attempts=3,
        backoff_initial=0.01,
    )
    with pytest.raises(pmsync.ConnectionClosed) as info:
        client.connect(timeout=10)
    assert not isinstance(info.value, pmsync.AuthenticationError)
    assert str(status) in str(info.value)
    assert "try later" in str(info.value)
    client.close()

    assert len(recorder.requests) == 3
    assert len(httpserver.log) == 3
    timestamps = [r["X-PM-Timestamp"] for r in recorder.requests]
    signatures = [r["X-PM-Signature"] for r in recorder.requests]
    assert len(set(timestamps)) == 3, timestamps
    assert len(set(signatures)) == 3, "a signature was reused"
    assert timestamps == sorted(timestamps, key=int)
    for request in recorder.requests:
        verify(credentials, request, MARKETS)


def test_exhausted_attempts_raise_handshake_error_with_status(
    httpserver: HTTPServer, credentials: pmsync.Credentials
) -> None:
    recorder = serve(httpserver, MARKETS, Recorder(503, "maintenance", {"Retry-After": "0"}))
    client = pmsync.MarketsClient(
        credentials,
        base_url=base_url(httpserver),
        max_reconnect_attempts=3,
        backoff_initial=0.01,
    )
    try:
        with pytest.raises(pmsync.ConnectionClosed) as info:
            client.connect(timeout=10)
    finally:
        client.close()
    assert len(recorder.requests) == 3
    exc = info.value
    assert isinstance(exc, pmsync.HandshakeError), f"{type(exc).__name__}: {exc}"
    assert exc.status == 503
    assert exc.body == "maintenance"


def test_reconnect_false_makes_exactly_one_attempt(
    httpserver: HTTPServer, credentials: pmsync.Credentials
) -> None:
    recorder = serve(httpserver, MARKETS, Recorder(503, "busy", {"Retry-After": "0"}))
    client = pmsync.MarketsClient(
        credentials, base_url=base_url(httpserver), reconnect=False, backoff_initial=0.01
    )
    with pytest.raises(pmsync.HandshakeError) as info:
        client.connect(timeout=5)
    client.close()
    assert not isinstance(info.value, pmsync.AuthenticationError)
    assert info.value.status == 503
    assert info.value.body == "busy"
    assert info.value.retry_after == 0.0
    assert len(recorder.requests) == 1
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_retry_after_is_honoured(
    form: str, httpserver: HTTPServer, credentials: pmsync.Credentials
) -> None:
    """``Retry-After`` outweighs a 10 ms backoff, as delay-seconds or as an HTTP-date."""
    from email.utils import formatdate

    # An HTTP-date has whole seconds: 3 s ahead keeps the wait at 2-3 s.
    when = "1" if form == "seconds" else formatdate(time.time() + 3, usegmt=True)
    recorder = serve(httpserver, MARKETS, Recorder(503, "", {"Retry-After": when}))
    client = pmsync.MarketsClient(
        credentials,
        base_url=base_url(httpserver),
        max_reconnect_attempts=2,
        backoff_initial=0.01,
    )
    with pytest.raises(pmsync.ConnectionClosed):
        client.connect(timeout=10)
    client.close()
    assert len(recorder.requests) == 2
    gap = recorder.requests[1]["at"] - recorder.requests[0]["at"]
    assert gap >= 0.9, f"second attempt after {gap:.3f} s despite Retry-After: {when}"


def test_close_after_failed_connect_then_connect_refused(
    httpserver: HTTPServer, credentials: pmsync.Credentials
) -> None:
    serve(httpserver, MARKETS, Recorder(401, "nope"))
    client = pmsync.MarketsClient(credentials, base_url=base_url(httpserver))
    with pytest.raises(pmsync.AuthenticationError):
        client.connect(timeout=5)
    client.close()
    with pytest.raises(pmsync.ConnectionClosed):
        client.connect(timeout=5)
    assert len(httpserver.log) == 1


# --------------------------------------------------------------------- other refusals, secrets


def test_not_found_is_not_retried_and_leaks_no_secret(
    httpserver: HTTPServer, credentials: pmsync.Credentials, secret_b64: str
) -> None:
    recorder = serve(httpserver, MARKETS, Recorder(404, "no such endpoint"))
    client = pmsync.MarketsClient(
        credentials, base_url=base_url(httpserver), backoff_initial=0.01
    )
    with pytest.raises(pmsync.HandshakeError) as info:
        client.connect(timeout=5)
    exc = info.value
    assert not isinstance(exc, pmsync.AuthenticationError)
    assert exc.status == 404
    assert "404" in str(exc)
    assert len(recorder.requests) == 1
    assert len(httpserver.log) == 1

    signature = recorder.requests[0]["X-PM-Signature"]
    assert signature
    texts = {
        "str(exc)": str(exc),
        "repr(exc)": repr(exc),
        "exc.args": repr(exc.args),
        "repr(client)": repr(client),
        "str(client)": str(client),
        "repr(credentials)": repr(credentials),
        "str(credentials)": str(credentials),
    }
    client.close()
    texts["repr(closed client)"] = repr(client)
    for where, text in texts.items():
        assert secret_b64 not in text, f"secret key in {where}"
        assert signature not in text, f"signature in {where}"


def test_auth_error_leaks_no_secret_or_signature(
    httpserver: HTTPServer, credentials: pmsync.Credentials, secret_b64: str
) -> None:
    recorder = serve(httpserver, PRIVATE, Recorder(401, "invalid signature"))
    client = pmsync.PrivateClient(credentials, base_url=base_url(httpserver))
    with pytest.raises(pmsync.AuthenticationError) as info:
        client.connect(timeout=5)
    client.close()
    signature = recorder.requests[0]["X-PM-Signature"]
    for text in (str(info.value), repr(info.value), repr(client)):
        assert secret_b64 not in text
        assert signature not in text


def test_close_during_connect_backoff_returns_promptly(
    httpserver: HTTPServer, credentials: pmsync.Credentials
) -> None:
    """``close()`` from another thread while ``connect()`` waits out a
    ``Retry-After: 30`` ends the wait at once; no further attempt is made."""
    recorder = serve(httpserver, MARKETS, Recorder(503, "", {"Retry-After": "30"}))
    client = pmsync.MarketsClient(
        credentials, base_url=base_url(httpserver), backoff_initial=0.01
    )
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            client.connect(timeout=60)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            outcome.append(exc)
        else:
            outcome.append(None)

    connector = threading.Thread(target=run, name="test-connector", daemon=True)
    connector.start()
    assert wait_for(lambda: len(recorder.requests) == 1, 5.0)
    started = time.monotonic()
    client.close()
    connector.join(2.0)
    assert not connector.is_alive(), "connect() still waiting after close()"
    assert time.monotonic() - started < 1.0
    assert len(outcome) == 1 and isinstance(outcome[0], pmsync.ConnectionClosed), outcome
    assert len(recorder.requests) == 1
