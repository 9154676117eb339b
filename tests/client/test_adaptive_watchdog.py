"""The adaptive heartbeat watchdog end to end, against the mock (issue 13).

The policy itself is tested with an injected clock (tests/core/test_watchdog.py);
here its constants are shrunk so that each test takes about a second.
"""

from __future__ import annotations

from typing import Any

import pytest

import pmsync.watchdog

from .conftest import Recorder, wait_until


def test_the_default_learns_the_server_interval_and_replaces_a_silent_connection(
    pm_mockserver_factory: Any, make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pmsync.watchdog, "FLOOR", 0.3)
    server = pm_mockserver_factory(heartbeat_interval=0.1)
    server.pause_ticker()
    reconnects = Recorder()
    client = make_client(server=server, heartbeat_timeout=None, ping_interval=0.05,
                         on_reconnect=reconnects)
    client.connect()
    wait_until(lambda: client.stats()["heartbeat_interval"] is not None, 5, "a learned interval")
    watch = client._conn.watchdog
    assert 0.05 < client.stats()["heartbeat_interval"] < 1.0
    assert watch.limit == max(0.3, 3 * watch.interval)
    server.stop_heartbeats()  # pongs still come, but the server has gone quiet
    reconnects.wait_count(1, timeout=5)
    server.resume_heartbeats()


def test_a_quiet_connection_that_answers_pings_is_kept_until_heartbeats_are_known(
    pm_mockserver_factory: Any, make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pmsync.watchdog, "PONG_GRACE", 0.1)  # unlearned limit: 0.2 s of silence
    server = pm_mockserver_factory(heartbeat_interval=0.1)
    server.pause_ticker()
    server.stop_heartbeats()
    disconnects, beats = Recorder(), Recorder()
    client = make_client(server=server, heartbeat_timeout=None, ping_interval=0.05,
                         on_disconnect=disconnects, on_heartbeat=beats)
    client.connect()
    # Six times the unlearned limit with no message at all: only pongs keep it up.
    with pytest.raises(AssertionError, match="condition not met"):
        disconnects.wait_count(1, timeout=1.2)
    assert client.stats()["heartbeat_interval"] is None and client.stats()["reconnects"] == 0
    server.resume_heartbeats()
    beats.wait_count(3)
