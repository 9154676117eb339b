"""Fault-injection state of the mock server and the odd frames it can send.

Everything here is guarded by one lock, so tests and the control API may
change faults while clients are connected.
"""

from __future__ import annotations

import http
import threading
from collections import deque
from dataclasses import dataclass

__all__ = [
    "BINARY_FRAME",
    "Faults",
    "Rejection",
    "malformed_frame",
    "oversized_frame",
    "unknown_payload_frame",
]

#: The default binary frame: bytes that are neither JSON nor valid UTF-8.
BINARY_FRAME = b"\x00\x01\x02mockserver-binary-frame\xff\xfe"


@dataclass(frozen=True)
class Rejection:
    """How to reject one handshake: HTTP status, optional ``Retry-After``, body."""

    status: int
    retry_after: float | None
    body: str


def _check_status(status: int) -> None:
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        raise ValueError(f"status must be an HTTP status code between 200 and 599, got {status!r}")


class Faults:
    """Current faults: heartbeats, ticker, delay, pending handshake rejections."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.heartbeats_stopped = False
        self.ticker_paused = False
        self.delay = 0.0
        self._rejections: deque[Rejection] = deque()

    def reset(self) -> None:
        """Back to no faults at all (ticker running, heartbeats on, no delay)."""
        with self._lock:
            self.heartbeats_stopped = False
            self.ticker_paused = False
            self.delay = 0.0
            self._rejections.clear()

    def set_delay(self, seconds: float) -> None:
        """Delay every outgoing frame by ``seconds`` (0 disables)."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
            raise ValueError(f"delay must be a number of seconds >= 0, got {seconds!r}")
        if seconds > 3600:
            raise ValueError(f"delay must be at most 3600 s, got {seconds!r}")
        with self._lock:
            self.delay = float(seconds)

    def add_rejections(
        self, count: int, status: int = 503, retry_after: float | None = None, body: str | None = None
    ) -> None:
        """Reject the next ``count`` handshakes with ``status``."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be an integer >= 0, got {count!r}")
        _check_status(status)
        if status == 101:
            raise ValueError("status 101 would accept the handshake")
        if retry_after is not None and (
            isinstance(retry_after, bool) or not isinstance(retry_after, (int, float)) or retry_after < 0
        ):
            raise ValueError(f"retry_after must be a number of seconds >= 0, got {retry_after!r}")
        if body is None:
            try:
                phrase = http.HTTPStatus(status).phrase
            except ValueError:
                phrase = "Error"
            body = f"{status} {phrase}: handshake rejected by mockserver fault injection\n"
        with self._lock:
            self._rejections.extend([Rejection(status, retry_after, body)] * count)

    def take_rejection(self) -> Rejection | None:
        """The rejection for this handshake, if one is pending (consumes it)."""
        with self._lock:
            return self._rejections.popleft() if self._rejections else None

    @property
    def pending_rejections(self) -> int:
        """How many handshakes are still to be rejected."""
        with self._lock:
            return len(self._rejections)


def malformed_frame() -> str:
    """A text frame that is not valid JSON (truncated object)."""
    return '{"request_id": "mockserver-fault", "market_data": {"market_slug": '


def unknown_payload_frame() -> str:
    """Valid JSON with a payload key no client knows (and no request id)."""
    return '{"mockserver_unknown_payload":{"note":"injected unknown payload","n":1}}'


def oversized_frame(size: int) -> str:
    """A valid JSON text frame of exactly ``size`` bytes (padding only)."""
    head, tail = '{"mockserver_padding":"', '"}'
    if isinstance(size, bool) or not isinstance(size, int) or size < len(head) + len(tail):
        raise ValueError(f"size must be an integer >= {len(head) + len(tail)}, got {size!r}")
    if size > 64 * 1024 * 1024:
        raise ValueError(f"size must be at most 64 MiB, got {size}")
    return head + "x" * (size - len(head) - len(tail)) + tail
