"""Security (issue 5): no secret or signature in any log record or repr; TLS
verification on by default; stale and replayed handshakes refused.

The redaction test was checked by hand: with ``log.debug("headers %s", headers)``
added to ``pmsync.connection.Connection._attempt`` it fails (the signature is
found in a DEBUG record); the line was removed again.
"""

from __future__ import annotations

import base64
import logging
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
import websocket

import pmsync
from mockserver import MockServer, demo_credentials

from ..client.conftest import Recorder, wait_until

PRIVATE = "/v1/ws/private"
LOGGERS = ("pmsync", "mockserver", "mockserver.websockets", "websocket", "websockets")


@pytest.fixture
def all_debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of every logger, at DEBUG, reaches caplog."""
    saved = {}
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = (logger.level, logger.propagate, logger.disabled)
        logger.setLevel(logging.DEBUG)
        logger.propagate = True
        logger.disabled = False
    caplog.set_level(logging.DEBUG)
    try:
        yield caplog
    finally:
        for name, (level, propagate, disabled) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.propagate = propagate
            logger.disabled = disabled


def secret_forms(secret_b64: str) -> list[str]:
    """Every spelling of the secret key a leak could use."""
    raw = base64.b64decode(secret_b64)
    forms = [secret_b64]
    for part in (raw, raw[:32]):
        forms += [repr(part), repr(part)[2:-1], base64.b64encode(part).decode(),
                  base64.urlsafe_b64encode(part).decode(), part.hex(), part.hex().upper()]
    return forms


def record_texts(record: logging.LogRecord) -> list[str]:
    texts = [str(record.msg), repr(record.args)]
    try:
        texts.append(record.getMessage())
    except Exception:  # noqa: BLE001 - a bad format string is not a leak
        pass
    if record.exc_info:
        texts.append(logging.Formatter().formatException(record.exc_info))
    if record.exc_text:
        texts.append(record.exc_text)
    return texts


def assert_nothing_leaked(texts: list[str], secrets: list[str], what: str) -> None:
    for text in texts:
        for secret in secrets:
            if secret and secret in text:
                # never print the secret itself
                raise AssertionError(f"a secret or signature ({len(secret)} chars) appears in {what}: "
                                     f"{text.replace(secret, '<FOUND>')[:300]!r}")


def test_no_secret_or_signature_in_logs_or_reprs(
    all_debug_logs: pytest.LogCaptureFixture,
    pm_mockserver_factory: Callable[..., MockServer],
) -> None:
    server = pm_mockserver_factory(heartbeat_interval=0.2, tick_interval=0.05)
    key_id, secret = demo_credentials(server.seed)
    credentials = pmsync.Credentials.from_base64(key_id, secret)
    errors, connects, events = Recorder(), Recorder(), Recorder()
    seen: list[Any] = [credentials]
    options: dict[str, Any] = dict(base_url=server.url, backoff_initial=0.05, backoff_max=0.2,
                                   heartbeat_timeout=2.0, ping_interval=0.5)
    private = pmsync.PrivateClient(credentials, on_error=errors, on_connect=connects,
                                   on_order_snapshot=events, on_balance_snapshot=events, **options)
    markets = pmsync.MarketsClient(credentials, on_error=errors, on_market_data=events, **options)
    seen += [private, markets]
    try:
        private.connect()
        markets.connect()
        seen += [private.subscribe_orders(), private.subscribe_balances(),
                 markets.subscribe_market_data(server.markets[:2])]
        for sub in seen[3:]:
            seen.append(sub.wait_snapshot(10))
        # reconnects: an abrupt drop, then a close frame
        first = server.wait_for_connection(path="private").id
        server.drop_connections("private")
        connects.wait_count(2)
        # The client's on_connect can run before the server has registered the
        # new connection: wait for it, or the close below would find none.
        wait_until(lambda: server.wait_for_connection(path="private").id > first, 5,
                   "the server to register the reconnection")
        server.close_connections(1011, "bye", "private")
        connects.wait_count(3)
        # errors: a malformed frame, a refused subscription
        server.send_malformed()
        errors.wait_count(1)
        markets.subscribe_trades(["no-such-market"])
        refused = errors.wait_for(
            lambda items: any(isinstance(e, pmsync.SubscriptionError) for e in items), 5)
        assert any(isinstance(e, pmsync.DecodeError) for e in refused)
        # a 401 rejection: fatal for a new client
        server.reject_handshakes(1, status=401)
        rejected = pmsync.PrivateClient(credentials, **options)
        seen.append(rejected)
        with pytest.raises(pmsync.AuthenticationError) as auth:
            rejected.connect(timeout=5)
        seen.append(auth.value)
        # an unknown key: 401 from the auth check itself
        other = pmsync.Credentials.from_base64("00000000-0000-4000-8000-000000000000", secret)
        with pytest.raises(pmsync.AuthenticationError) as unknown:
            pmsync.MarketsClient(other, **options).connect(timeout=5)
        seen.append(unknown.value)
        events.wait_count(6)
    finally:
        private.close()
        markets.close()
    seen += errors.items + events.items + [private.stats(), markets.stats()]

    signatures = [h.headers.get("X-PM-Signature") or h.headers.get("x-pm-signature") or ""
                  for h in server.handshakes]
    signatures = [s for s in signatures if s]
    assert len(signatures) >= 6, "the session made fewer handshakes than expected"
    secrets = secret_forms(secret) + signatures
    records = all_debug_logs.records
    assert any(r.levelno == logging.DEBUG for r in records), "DEBUG records were not captured"
    assert {r.name.split(".")[0] for r in records} >= {"pmsync", "mockserver"}
    for record in records:
        assert_nothing_leaked(record_texts(record), secrets, f"log record {record.name}")
    for obj in seen:
        assert_nothing_leaked([repr(obj), str(obj)], secrets, f"repr/str of {type(obj).__name__}")
    assert_nothing_leaked([all_debug_logs.text], secrets, "the captured log text")


# ------------------------------------------------------------------------ TLS


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(ca: trustme.CA, pm_mockserver_factory: Callable[..., MockServer]) -> MockServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return pm_mockserver_factory(ssl_context=context)


def test_tls_refused_by_default(tls_server: MockServer) -> None:
    assert tls_server.url.startswith("wss://")
    credentials = pmsync.Credentials.from_base64(*demo_credentials(tls_server.seed))
    client = pmsync.PrivateClient(credentials, base_url=tls_server.url, backoff_initial=0.05)
    started = time.monotonic()
    try:
        with pytest.raises(pmsync.ConnectionClosed, match="certificate verification failed") as info:
            client.connect(timeout=30)
    finally:
        client.close()
    assert time.monotonic() - started < 5, "a certificate failure must not be retried"
    assert not isinstance(info.value, pmsync.HandshakeError)
    assert "sslopt" in str(info.value)
    assert [h.status for h in tls_server.handshakes] == []  # never got past TLS


@pytest.mark.parametrize("how", ["ca_certs", "context"])
def test_tls_with_the_ca(how: str, ca: trustme.CA, tls_server: MockServer, tmp_path: Path) -> None:
    if how == "ca_certs":
        path = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(path))
        sslopt: dict[str, Any] = {"ca_certs": str(path)}
    else:
        context = ssl.create_default_context()
        ca.configure_trust(context)
        sslopt = {"context": context}
    credentials = pmsync.Credentials.from_base64(*demo_credentials(tls_server.seed))
    with pmsync.MarketsClient(credentials, base_url=tls_server.url, sslopt=sslopt) as client:
        snapshot = client.subscribe_market_data(tls_server.markets[:1]).wait_snapshot(10)
        assert snapshot is not None and snapshot.kind == "market_data"
        assert "sslopt" not in repr(client) and "ca_certs" not in repr(client)
    assert [h.status for h in tls_server.handshakes] == [101]


# ----------------------------------------------------------- handshake checks


def raw_connect(server: MockServer, headers: dict[str, str]) -> int:
    """Open a raw websocket-client connection with exactly these headers; the HTTP status."""
    try:
        ws = websocket.create_connection(server.url + PRIVATE, timeout=5, suppress_origin=True,
                                         header=[f"{k}: {v}" for k, v in headers.items()])
    except websocket.WebSocketBadStatusException as exc:
        return int(exc.status_code)
    ws.close()
    return 101


def test_stale_timestamp_is_refused(pm_mockserver_factory: Callable[..., MockServer]) -> None:
    server = pm_mockserver_factory()
    credentials = pmsync.Credentials.from_base64(*demo_credentials(server.seed))
    now_ms = time.time_ns() // 1_000_000
    assert raw_connect(server, credentials.sign_handshake(PRIVATE, now_ms - 31_000)) == 401
    assert raw_connect(server, credentials.sign_handshake(PRIVATE, now_ms + 31_000)) == 401
    assert raw_connect(server, credentials.sign_handshake(PRIVATE, now_ms - 20_000)) == 101
    reasons = [h.reason for h in server.handshakes]
    assert reasons[0].startswith("timestamp outside the 30 s window"), reasons
    assert reasons[2] == "accepted"


def test_replayed_signature_is_refused(pm_mockserver_factory: Callable[..., MockServer]) -> None:
    server = pm_mockserver_factory(reject_replayed_signatures=True)
    credentials = pmsync.Credentials.from_base64(*demo_credentials(server.seed))
    headers = credentials.sign_handshake(PRIVATE)
    assert raw_connect(server, headers) == 101
    assert raw_connect(server, headers) == 401
    assert raw_connect(server, credentials.sign_handshake(PRIVATE)) == 101  # fresh: accepted
    assert [h.reason for h in server.handshakes] == ["accepted", "replayed signature", "accepted"]
    # without the option, the same replay is accepted (the default, like most test servers)
    lenient = pm_mockserver_factory()
    again = credentials.sign_handshake(PRIVATE)
    assert raw_connect(lenient, again) == raw_connect(lenient, again) == 101


# ------------------------------------------------- printed errors (issue 12)


def test_no_secret_or_signature_in_printed_errors(
    capsys: pytest.CaptureFixture[str],
    all_debug_logs: pytest.LogCaptureFixture,
    ca: trustme.CA,
    tls_server: MockServer,
    pm_mockserver_factory: Callable[..., MockServer],
) -> None:
    """Every line of the default stderr policy and every new diagnosis, with no on_error."""
    server = pm_mockserver_factory(heartbeat_interval=0.2, tick_interval=0.05)
    key_id, secret = demo_credentials(server.seed)
    credentials = pmsync.Credentials.from_base64(key_id, secret)
    options: dict[str, Any] = dict(backoff_initial=0.05, backoff_max=0.1, ping_interval=0)
    raised: list[BaseException] = []

    def broken(event: pmsync.Event) -> None:
        raise RuntimeError(f"callback failed on {event.kind}")

    # first connect: two refused attempts are printed, then it connects
    server.reject_handshakes(2, status=503)
    client = pmsync.MarketsClient(credentials, base_url=server.url, on_trade=broken, **options)
    try:
        client.connect(timeout=10)
        client.subscribe_trades(["no-such-market"])                    # a refusal, printed
        sub = client.subscribe_market_data(server.markets[:1])
        sub.wait_snapshot(10)
        server.wait_for_subscription("SUBSCRIPTION_TYPE_MARKET_DATA")
        client.subscribe_trades(server.markets[:1])
        server.wait_for_subscription("SUBSCRIPTION_TYPE_TRADE")
        server.inject_trade(server.markets[0])                        # a callback error, printed
        wait_until(lambda: client.stats()["callback_errors"] >= 1, 10, "the callback error")
        server.reject_handshakes(100, status=401)                     # fatal on reconnect, printed
        server.drop_connections()
        wait_until(lambda: client.closed, 10, "the fatal error")
    finally:
        client.close()
    # the diagnoses of the first connect: wrong scheme both ways, certificate
    for url in (server.url.replace("ws://", "wss://"), tls_server.url.replace("wss://", "ws://"), tls_server.url):
        other = pmsync.PrivateClient(credentials, base_url=url, **options)
        with pytest.raises(pmsync.ConnectionClosed) as info:
            other.connect(timeout=5)
        other.close()
        raised.append(info.value)
    err = capsys.readouterr().err
    for shown in ("connect attempt 1 failed", "refused by the server", "callback broken raised",
                  "AuthenticationError"):
        assert shown in err, err
    signatures = [h.headers.get("X-PM-Signature") or h.headers.get("x-pm-signature") or ""
                  for h in server.handshakes]
    secrets = secret_forms(secret) + [s for s in signatures if s]
    assert len(secrets) > len(secret_forms(secret)) + 2
    assert_nothing_leaked([err], secrets, "stderr")
    assert_nothing_leaked([str(e) for e in raised] + [repr(e) for e in raised], secrets, "a diagnosis")
    for record in all_debug_logs.records:
        assert_nothing_leaked(record_texts(record), secrets, f"log record {record.name}")
