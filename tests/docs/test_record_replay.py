"""Record a session from the mock server, replay it through the mock server: the
client sees the same events. Also ``python -m mockserver run -- CMD``."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import pmsync
import pmsync.cli
from mockserver import MockServer, demo_credentials
from mockserver.replay import Recording, rewrite_request_id
from pmsync.codec import decode, to_plain
from pmsync.recording import FrameRecorder, read_recording

from .conftest import PYTHON, ROOT, Proc, child_env

CREDENTIALS = pmsync.Credentials.from_base64(*demo_credentials(0))


class Events:
    """Collects data events (with their arrival time) and waits for a count."""

    def __init__(self) -> None:
        self.items: list[tuple[pmsync.Event, float]] = []
        self._cond = threading.Condition()

    def __call__(self, event: pmsync.Event) -> None:
        with self._cond:
            self.items.append((event, time.monotonic()))
            self._cond.notify_all()

    def wait(self, n: int, timeout: float = 10.0) -> list[pmsync.Event]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.items) >= n, timeout), \
                f"{len(self.items)} of {n} events within {timeout} s"
            return [e for e, _ in self.items]

    def wait_kind(self, kind: str, n: int, timeout: float = 10.0) -> list[pmsync.Event]:
        """Wait until ``n`` events of ``kind`` arrived; return all events so far."""
        with self._cond:
            assert self._cond.wait_for(lambda: sum(e.kind == kind for e, _ in self.items) >= n, timeout), \
                f"{[e.kind for e, _ in self.items]}: not {n} {kind} within {timeout} s"
            return [e for e, _ in self.items]


def plain(event: pmsync.Event) -> dict[str, Any]:
    """The event as JSON-ready data, without its request id."""
    out = to_plain(event)
    out.pop("request_id")
    return out


def test_private_session_replays_as_the_same_events(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    recorded = Events()
    with MockServer(seed=0, heartbeat_interval=0.2) as live, path.open("w") as out:
        live.pause_ticker()
        client = pmsync.PrivateClient(CREDENTIALS, base_url=live.url, on_order_snapshot=recorded,
                                      on_order_update=recorded)
        client.on_frame = FrameRecorder(out, endpoint="private", subscription_type="SUBSCRIPTION_TYPE_ORDER")
        with client:
            client.subscribe_orders(request_id="live-orders").wait_snapshot(10)
            live.wait_for_subscription("SUBSCRIPTION_TYPE_ORDER")
            for _ in range(3):
                live.inject_fill()
            original = recorded.wait_kind("order_update", 3)
    header, frames = read_recording(path)
    assert header["endpoint"] == "private" and len(frames) >= 4

    replayed = Events()
    with MockServer(seed=0, replay=[path], replay_speed=0, tick_interval=0.05) as replay:
        with pmsync.PrivateClient(CREDENTIALS, base_url=replay.url, on_order_snapshot=replayed,
                                  on_order_update=replayed) as client:
            client.subscribe_orders(request_id="replayed-orders")
            again = replayed.wait_kind("order_update", 3)
        replay.check_assertions()
    assert [plain(e) for e in again] == [plain(e) for e in original]
    assert {e.request_id for e in again} == {"replayed-orders"}
    assert {e.request_id for e in original} == {"live-orders"}
    kinds = [e.kind for e in again]
    assert kinds[-3:] == ["order_update"] * 3 and set(kinds[:-3]) == {"order_snapshot"}
    assert again[len(kinds) - 4].data.eof is True


def test_cli_recording_replays_with_its_spacing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "trades.jsonl"
    monkeypatch.setenv("POLYMARKET_KEY_ID", CREDENTIALS.key_id)
    monkeypatch.setenv("POLYMARKET_SECRET_KEY", demo_credentials(0)[1])
    with MockServer(seed=0, heartbeat_interval=0.2) as live:
        live.pause_ticker()
        slugs = live.markets[:2]
        status: list[int] = []
        argv = ["record", "--endpoint", "markets", "--type", "trade", "--slug", slugs[0], "--slug", slugs[1],
                "--base-url", live.url, "--count", "4", "--out", str(path)]
        recorder = threading.Thread(target=lambda: status.append(pmsync.cli.main(argv)), name="docs-record")
        recorder.start()
        try:
            live.wait_for_subscription("SUBSCRIPTION_TYPE_TRADE")
            live.inject_trade(slugs[0])
            live.inject_trade(slugs[1])
            time.sleep(0.4)                     # a gap in the recording, which replay must keep
            live.inject_trade(slugs[0])
            live.inject_trade(slugs[1])
        finally:
            recorder.join(20)
    assert status == [0]
    header, frames = read_recording(path)
    assert header["subscription_type"] == "SUBSCRIPTION_TYPE_TRADE" and header["market_slugs"] == slugs
    data_frames = [f for f in frames if "heartbeat" not in f["text"]]
    expected = [plain(decode(f["text"], "markets")) for f in data_frames]
    assert len(expected) == 4

    env = child_env(MockServer())              # credentials only; the replay server has its own URL
    proc = Proc([PYTHON, "-m", "mockserver", "--replay", str(path), "--speed", "1", "--heartbeat-interval", "0.2"],
                env, name="replay")
    try:
        ready = proc.wait_lines(lambda lines: any("ready on" in line for line in lines))
        url = ready[-1].split("ready on ", 1)[1].split()[0]
        replayed = Events()
        with pmsync.MarketsClient(CREDENTIALS, base_url=url, on_trade=replayed) as client:
            client.subscribe_trades(slugs, request_id="mine")
            events = replayed.wait(4)
        times = [t for _, t in replayed.items]
    finally:
        assert proc.interrupt() == 0
    assert [plain(e) for e in events] == expected
    assert {e.request_id for e in events} == {"mine"}
    recorded_gap = data_frames[2]["t"] - data_frames[1]["t"]
    assert recorded_gap >= 0.3  # 0.4 s between sends; receive times jitter by a few ms
    assert times[2] - times[1] >= 0.75 * recorded_gap      # --speed 1 keeps the spacing


def test_rewrite_request_id_changes_only_the_id() -> None:
    snake = '{"request_id":"a-1","subscription_type":3,"trade":{"price":{"value":"0.50"},"request_id":"a-1"}}'
    assert rewrite_request_id(snake, "b") == snake.replace('"request_id":"a-1"', '"request_id":"b"', 1)
    camel = '{"requestId" : "x\\"y", "error": "no"}'
    assert json.loads(rewrite_request_id(camel, "z")) == {"requestId": "z", "error": "no"}
    assert rewrite_request_id('{"heartbeat":{}}', "z") == '{"heartbeat":{}}'
    assert rewrite_request_id("not json", "z") == "not json"


def test_recording_header_is_validated(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"t": 1, "text": "{}"}\n')
    with pytest.raises(ValueError, match="header"):
        Recording.load(bad)
    bad.write_text('{"pmsync_recording": 1, "endpoint": "markets", "subscription_type": "SUBSCRIPTION_TYPE_ORDER"}\n')
    with pytest.raises(ValueError, match="unknown subscription type"):
        Recording.load(bad)


def test_run_exports_the_server_and_returns_the_exit_status() -> None:
    code = ("import os, sys; print(os.environ['PM_MOCKSERVER_URL'], os.environ['POLYMARKET_WS_URL'], "
            "os.environ['POLYMARKET_KEY_ID'], os.environ['PM_MOCKSERVER_CONTROL_URL']); sys.exit(7)")
    env = child_env(MockServer())
    result = subprocess.run([PYTHON, "-m", "mockserver", "run", "--seed", "3", "--", PYTHON, "-c", code],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 7, result.stderr
    url, ws_url, key_id, control = result.stdout.split()
    assert url == ws_url and url.startswith("ws://127.0.0.1:")
    assert control == url.replace("ws://", "http://")
    assert key_id == demo_credentials(3)[0]
    assert "mockserver ready on" in result.stderr


def test_run_without_a_command_is_a_usage_error() -> None:
    result = subprocess.run([PYTHON, "-m", "mockserver", "run", "--seed", "1"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no command to run" in result.stderr
    missing = subprocess.run([PYTHON, "-m", "mockserver", "run", "--", "no-such-command-pmsync"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 127 and "cannot run" in missing.stderr
