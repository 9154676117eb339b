"""Every public method of a client in every state (issue 11), without a socket:
the listener methods drive the state as the connection would."""

from __future__ import annotations

from typing import Any

import pytest

import pmsync
from pmsync.errors import AuthenticationError, ConnectionClosed

KEY = pmsync.Credentials.from_base64("00000000-0000-4000-8000-000000000000", "A" * 43 + "=")
FATAL = AuthenticationError("handshake refused with HTTP 401", 401)


def client_in(state: str) -> Any:
    client: Any = pmsync.MarketsClient(KEY, ping_interval=0, on_error=lambda exc: None)
    sent: list[str] = []
    client._test_sent = sent  # private: a client refuses unknown public attributes

    def send(frames: list[str]) -> bool:
        sent.extend(frames)
        return True

    client.subscribe_market_data_lite(["m-1"], request_id="before")
    if state == "new":
        return client
    client.connection_made(send, False)
    if state == "reconnecting":
        client.connection_lost(ConnectionClosed("lost"))
    elif state == "closed-by-user":
        client.close()
    elif state == "closed-fatal":
        client.connection_lost(ConnectionClosed("lost"))
        client.connection_failed(FATAL)
    return client


STATES = ["new", "open", "reconnecting", "closed-by-user", "closed-fatal"]


@pytest.mark.parametrize("state", STATES)
def test_properties_stats_repr_and_book(state: str) -> None:
    client = client_in(state)
    try:
        expected = state.split("-")[0]
        assert client.state == expected
        assert client.connected is (state == "open")
        assert client.closed is expected.startswith("closed")
        assert client.stats()["state"] == expected and client.stats()["connected"] is client.connected
        assert ("connected" in repr(client)) is (state in ("new", "open"))  # "not connected" in new
        assert client.book("m-1") is None
        live = [s.request_ids for s in client.subscriptions]
        assert live == ([] if client.closed else [("before",)])
        if client.closed:
            assert client.close_cause is not None and client.close_cause.startswith("closed (")
    finally:
        client.close()


@pytest.mark.parametrize("state", STATES)
def test_subscribe_unsubscribe_and_wait_snapshot(state: str) -> None:
    client = client_in(state)
    try:
        if client.closed:
            with pytest.raises(ConnectionClosed, match="cannot subscribe"):
                client.subscribe_market_data(["m-1"])
            return
        sub = client.subscribe_market_data(["m-1"], request_id="md")
        assert any('"md"' in frame for frame in client._test_sent) is (state == "open")  # else queued
        with pytest.raises(TimeoutError):
            sub.wait_snapshot(0)
        sub.unsubscribe()
        sub.unsubscribe()  # idempotent
        assert sub.status == "unsubscribed"
        with pytest.raises(pmsync.SubscriptionError, match="unsubscribed"):
            sub.wait_snapshot(0)
    finally:
        client.close()


@pytest.mark.parametrize("state", STATES)
def test_connect_messages_run_forever_and_close(state: str) -> None:
    client = client_in(state)
    sub = client.subscriptions[0] if client.subscriptions else None
    try:
        if state in ("open", "reconnecting"):
            client.connect()  # nothing to do: connected, or reconnecting by itself
            assert list(client.messages(timeout=0)) == []  # no event within the timeout
        elif state == "closed-by-user":
            with pytest.raises(ConnectionClosed, match="cannot connect.*closed by close"):
                client.connect()
            assert list(client.messages(timeout=None)) == []  # ends at once
            client.run_forever()  # returns at once
        elif state == "closed-fatal":
            with pytest.raises(ConnectionClosed, match="cannot connect.*fatal error.*401"):
                client.connect()
            with pytest.raises(AuthenticationError):
                list(client.messages(timeout=None))
            with pytest.raises(AuthenticationError):
                client.run_forever()
    finally:
        client.close()
        client.close()  # idempotent
    assert client.closed and not client.connected
    if sub is not None:
        assert sub.status == "unsubscribed"  # close() ends every subscription
        with pytest.raises(ConnectionClosed, match="closed"):
            sub.wait_snapshot(None)
