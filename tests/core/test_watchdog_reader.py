"""The reader (Connection._read) with the adaptive watchdog, on a simulated
socket and clock: hours of a quiet connection in milliseconds (issue 13).

The fake socket serves a script of (time, opcode, data) frames, as bytes on the
wire, and honours the socket timeout the reader sets: when the next frame is
later than the timeout, the clock jumps by the timeout and recv raises, as a
real socket would.
"""

from __future__ import annotations

import base64
from types import SimpleNamespace
from typing import Any

import pytest
from websockets.frames import Frame, Opcode

import pmsync.connection as connection
from pmsync.auth import Credentials
from pmsync.connection import Connection, ConnectionOptions
from pmsync.framing import Wire
from pmsync.watchdog import FLOOR, MULTIPLIER, PONG_GRACE

HEARTBEAT = b'{"heartbeat":{}}'
PING = 20.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


class FakeSocket:
    """recv from a script, one frame per call, with the timeout semantics of a socket."""

    def __init__(self, clock: Clock, script: list[tuple[float, int, bytes]]) -> None:
        self.clock = clock
        self.script = sorted(script)
        self.timeout: float | None = None
        self.i = 0

    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def recv(self, size: int) -> bytes:
        if self.i >= len(self.script):
            if self.timeout is None:
                raise AssertionError("the reader would block forever on a dead connection")
            self.clock.now += max(0.0, self.timeout)
            raise TimeoutError("timed out")
        at, opcode, data = self.script[self.i]
        if self.timeout is not None and at - self.clock.now > self.timeout:
            self.clock.now += max(0.0, self.timeout)
            raise TimeoutError("timed out")
        self.clock.now = max(self.clock.now, at)
        self.i += 1
        return Frame(Opcode(opcode), data).serialize(mask=False, extensions=[])


class Listener:
    def __init__(self) -> None:
        self.frames = 0

    def frame_received(self, opcode: int, data: bytes) -> None:
        self.frames += 1


def read(monkeypatch: pytest.MonkeyPatch, script: list[tuple[float, int, bytes]],
         heartbeat_timeout: float | None = None, ping_interval: float = PING) -> tuple[Any, float, Any]:
    """Run the reader over ``script``; (why it ended, when, its watchdog)."""
    clock = Clock()
    monkeypatch.setattr(connection, "time", clock)
    listener = Listener()
    credentials = Credentials.from_base64("k", base64.b64encode(bytes(32)).decode())
    conn = Connection("ws://sim", "/v1/ws/markets", credentials,
                      ConnectionOptions(heartbeat_timeout=heartbeat_timeout, ping_interval=ping_interval),
                      listener, "sim")  # type: ignore[arg-type]
    error = conn._read(Wire(SimpleNamespace(sock=FakeSocket(clock, script))))
    return error, clock.now, conn.watchdog


def heartbeats(interval: float, until: float, start: float = 0.0) -> list[tuple[float, int, bytes]]:
    n = int((until - start) / interval)
    return [(start + k * interval, Opcode.TEXT, HEARTBEAT) for k in range(1, n + 1)]


def pongs(until: float) -> list[tuple[float, int, bytes]]:
    return [(k * PING + 0.05, Opcode.PONG, b"") for k in range(1, int(until / PING) + 1)]


@pytest.mark.parametrize("interval", [0.5, 5.0, 30.0])
def test_quiet_healthy_connection_lives_then_a_dead_one_is_found(
    monkeypatch: pytest.MonkeyPatch, interval: float
) -> None:
    hours = 3 * 3600.0
    error, ended, watch = read(monkeypatch, heartbeats(interval, hours) + pongs(hours + 600))
    last = int(hours / interval) * interval
    bound = max(FLOOR, MULTIPLIER * interval)
    # No false reconnect in three hours; then, heartbeats gone (pongs still come), dead at the bound.
    assert ended == pytest.approx(last + bound, abs=0.06)
    assert "heartbeat interval" in str(error)
    assert watch.interval == pytest.approx(interval)


def test_without_heartbeats_pongs_keep_it_and_silence_kills_it(monkeypatch: pytest.MonkeyPatch) -> None:
    hours = 3 * 3600.0
    error, ended, watch = read(monkeypatch, pongs(hours))
    last_pong = int(hours / PING) * PING + 0.05
    assert ended == pytest.approx(last_pong + 2 * PING + PONG_GRACE)
    assert "no pong" in str(error) and watch.interval is None


def test_a_fixed_timeout_is_what_it_says(monkeypatch: pytest.MonkeyPatch) -> None:
    error, ended, _ = read(monkeypatch, heartbeats(30.0, 600) + pongs(600), heartbeat_timeout=15.0)
    assert ended == pytest.approx(15.0) and "heartbeat_timeout=15" in str(error)
