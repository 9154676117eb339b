"""``POLYMARKET_WS_URL`` gives the clients their base URL when ``base_url`` is not passed."""

from __future__ import annotations

import pytest

import pmsync
from mockserver import demo_credentials

CREDENTIALS = pmsync.Credentials.from_base64(*demo_credentials(0))


def test_env_url_is_used_when_base_url_is_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYMARKET_WS_URL", "ws://127.0.0.1:8765/")
    assert pmsync.MarketsClient(CREDENTIALS).url == "ws://127.0.0.1:8765/v1/ws/markets"
    assert pmsync.PrivateClient(CREDENTIALS).url == "ws://127.0.0.1:8765/v1/ws/private"
    explicit = pmsync.MarketsClient(CREDENTIALS, base_url="wss://example.test")
    assert explicit.url == "wss://example.test/v1/ws/markets"


def test_production_without_env_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLYMARKET_WS_URL", raising=False)
    assert pmsync.PrivateClient(CREDENTIALS).url == "wss://api.polymarket.us/v1/ws/private"
    monkeypatch.setenv("POLYMARKET_WS_URL", "")
    assert pmsync.MarketsClient(CREDENTIALS).url == "wss://api.polymarket.us/v1/ws/markets"


def test_a_bad_env_url_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYMARKET_WS_URL", "127.0.0.1:8765")
    with pytest.raises(pmsync.ConfigurationError, match="base_url must be a ws:// or wss:// URL"):
        pmsync.MarketsClient(CREDENTIALS)
