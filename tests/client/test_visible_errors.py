"""Errors are visible by default (issue 12), in process and without sockets.

Without ``on_error`` the errors a user must see are one stderr line each;
with it, nothing is printed. ``messages()`` does not yield server errors
unless asked. Unknown attributes are refused. A failed connect attempt is
classified (:mod:`pmsync.diagnose`). The subprocess tests, as a user runs
them, are in ``tests/docs/test_user_errors.py``.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

import pytest
import websocket

import pmsync
from pmsync import diagnose, report
from pmsync.connection import ConnectionOptions, retryable

from .test_event_queue import _BOOK, _TRADE, _feed, _offline_client

_REFUSAL = '{"request_id":"md","error":"unknown market slug \'m-1\'"}'


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line]


def test_a_refusal_without_on_error_is_one_stderr_line(capsys: pytest.CaptureFixture[str]) -> None:
    client = _offline_client()
    try:
        _feed(client, _REFUSAL)
    finally:
        client.close()
    assert _lines(capsys) == [
        "pmsync: MarketsClient: SubscriptionError: subscription 'md' (market_data; markets m-1) "
        "refused by the server: unknown market slug 'm-1'"
    ]


def test_on_error_takes_every_error_over(capsys: pytest.CaptureFixture[str]) -> None:
    errors: list[BaseException] = []
    client = _offline_client(on_error=errors.append)
    try:
        _feed(client, _REFUSAL)
        _feed(client, "{not json", 5)
    finally:
        client.close()
    assert _lines(capsys) == []
    assert isinstance(errors[0], pmsync.SubscriptionError) and errors[0].request_id == "md"
    assert "markets m-1" in str(errors[0])
    assert sum(isinstance(e, pmsync.DecodeError) for e in errors) == 5


def test_repeated_decode_and_callback_errors_are_printed_three_times_then_counted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(event: pmsync.Event) -> None:
        raise ZeroDivisionError("boom")

    client = _offline_client(on_market_data=broken)
    try:
        _feed(client, "{not json", 10)
        _feed(client, _BOOK % "md", 10)
        stats = client.stats()
    finally:
        client.close()
    lines = _lines(capsys)
    assert sum("DecodeError" in line for line in lines) == report.REPEATS_SHOWN
    assert sum("callback broken" in line and "ZeroDivisionError: boom" in line for line in lines) == 3
    assert any("only counted in client.stats()['decode_errors']" in line for line in lines)
    assert any("only counted in client.stats()['callback_errors']" in line for line in lines)
    assert len(lines) == 2 * report.REPEATS_SHOWN + 2
    assert stats["decode_errors"] == 10 and stats["callback_errors"] == 10


def test_messages_skips_server_errors_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    client = _offline_client()
    try:
        _feed(client, _REFUSAL)
        _feed(client, _TRADE % "tr")
        assert [e.kind for e in client.messages(timeout=0)] == ["trade"]
    finally:
        client.close()
    other = _offline_client()
    try:
        _feed(other, _REFUSAL)
        events = list(other.messages(timeout=0, errors=True))
        assert [e.kind for e in events] == ["error"]
        assert events[0].data.error == "unknown market slug 'm-1'"
    finally:
        other.close()


def test_unknown_attribute_names_the_closest_callback() -> None:
    client = _offline_client()
    try:
        with pytest.raises(AttributeError, match=r"has no attribute 'on_trades'; did you mean 'on_trade'\?"):
            client.on_trades = print
        with pytest.raises(AttributeError, match="'reconect'"):
            client.reconect = False
        with pytest.raises(TypeError, match="on_trade must be callable"):
            client.on_trade = "print"
        client.on_trade = print                 # the valid names still work
        client.on_trade = None
        assert client.on_trade is None
    finally:
        client.close()


def test_a_user_subclass_keeps_its_own_attributes_but_not_typod_callbacks() -> None:
    class Mine(pmsync.MarketsClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.books_seen = 0

    key = pmsync.Credentials.from_base64("00000000-0000-4000-8000-000000000000", "A" * 43 + "=")
    client = Mine(key)
    client.books_seen += 1
    with pytest.raises(AttributeError, match="did you mean 'on_market_data'"):
        client.on_market_dat = print
    client.close()


# ------------------------------------------------------------------ diagnose

_OPTIONS = ConnectionOptions(connect_timeout=1.0)


def test_unknown_host_is_misconfigured_only_on_the_first_connect() -> None:
    exc = websocket.WebSocketAddressException(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    first = diagnose.failed_attempt("ws://nowhere.invalid/v1/ws/markets", exc, first=True, options=_OPTIONS)
    assert isinstance(first, diagnose.Misconfigured) and not retryable(first)
    assert "unknown host 'nowhere.invalid'" in str(first)
    later = diagnose.failed_attempt("ws://nowhere.invalid/v1/ws/markets", exc, first=False, options=_OPTIONS)
    assert not isinstance(later, diagnose.Misconfigured) and retryable(later)
    again = socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
    flaky = diagnose.failed_attempt("ws://h.example/x", websocket.WebSocketAddressException(again), first=True,
                                    options=_OPTIONS)
    assert retryable(flaky)


def test_a_refused_port_says_so_and_is_retried() -> None:
    error = diagnose.failed_attempt("ws://127.0.0.1:9/v1/ws/markets", ConnectionRefusedError(111, "refused"),
                                    first=True, options=_OPTIONS)
    assert "connection refused (is the server running, and on this port?)" in str(error)
    assert retryable(error)


def test_certificate_failure_names_every_way_to_trust_a_ca() -> None:
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_message = "self-signed certificate"
    error = diagnose.certificate_failed("wss://h/v1/ws/markets", exc)
    assert not retryable(error)
    for way in ("sslopt={'ca_certs': PATH}", "--ca-file", "SSL_CERT_FILE"):
        assert way in str(error)
