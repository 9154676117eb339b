"""When is a quiet connection dead? The heartbeat watchdog's policy. No I/O.

The server heartbeats every few seconds, but the interval is not published
(docs/protocol.md, Responses), so the adaptive policy learns it from the heartbeats it sees:

- **Before the interval is known** (fewer than two heartbeats seen on this
  connection) it assumes none. Every frame is life, our keep-alive pings'
  pongs included, so a quiet connection that answers pings is never torn
  down. One that sends nothing at all (no message, no pong) is dead after
  ``2 × ping_interval + PONG_GRACE`` seconds (45 s with the defaults). Without
  pings (``ping_interval=0``) nothing proves a quiet connection dead: it is
  kept until the heartbeats are known.
- **Once heartbeats have been seen** it replaces the connection after
  ``max(FLOOR, MULTIPLIER × the largest of the last HISTORY intervals)``
  seconds without a message (data or heartbeat; pongs no longer count, so a
  server that answers pings but stopped sending is caught too).

A fixed ``timeout`` instead gives the plain rule: dead after ``timeout``
seconds without a message. Each new connection starts unlearned.

Times are whatever clock the caller passes (the reader uses
``time.monotonic()``); the class keeps no clock of its own, so tests drive it
with plain numbers.
"""

from __future__ import annotations

import math
from collections import deque

__all__ = ["FLOOR", "HISTORY", "MULTIPLIER", "PONG_GRACE", "HeartbeatWatchdog"]

#: Silence allowed, in observed heartbeat intervals (the largest recent one).
MULTIPLIER = 3.0
#: The least silence (seconds) that ever replaces a connection once heartbeats are known.
FLOOR = 5.0
#: How many recent heartbeat intervals are remembered.
HISTORY = 8
#: Seconds a pong may take, on top of two ping intervals, before the unlearned rule gives up.
PONG_GRACE = 5.0


class HeartbeatWatchdog:
    """The silence rule of one client's connections (see the module docstring).

    ``timeout``: a fixed limit in seconds (``math.inf``: never), or ``None`` to
    learn the heartbeat interval. ``ping_interval``: seconds between our
    keep-alive pings (0: none).
    """

    __slots__ = ("timeout", "ping_interval", "_intervals", "_last_heartbeat",
                 "_last_message", "_last_frame", "_limit")

    def __init__(self, timeout: float | None = None, ping_interval: float = 20.0) -> None:
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 or None, got {timeout!r}")
        self.timeout = timeout
        self.ping_interval = ping_interval
        self._intervals: deque[float] = deque(maxlen=HISTORY)
        self._last_heartbeat: float | None = None
        self._last_message = 0.0
        self._last_frame = 0.0
        self._limit: float | None = None
        self.reset(0.0)

    def reset(self, now: float) -> None:
        """A new connection opened at ``now``: it starts unlearned and not silent."""
        self._intervals.clear()
        self._last_heartbeat = None
        self._last_message = self._last_frame = now
        self._limit = self._compute_limit()

    def heartbeat(self, now: float) -> None:
        """A heartbeat arrived at ``now`` (call :meth:`message` for it too)."""
        if self._last_heartbeat is not None:
            self._intervals.append(max(0.0, now - self._last_heartbeat))
            self._limit = self._compute_limit()
        self._last_heartbeat = now

    def message(self, now: float) -> None:
        """A message (data or heartbeat) was handled; the silence restarts at ``now``."""
        self._last_message = self._last_frame = now

    def control(self, now: float) -> None:
        """A ping or pong arrived at ``now`` (life only while the interval is unknown)."""
        self._last_frame = now

    @property
    def interval(self) -> float | None:
        """The largest recent heartbeat interval, or ``None`` while unknown."""
        return max(self._intervals) if self._intervals else None

    @property
    def limit(self) -> float | None:
        """The silence (seconds) that counts as dead now; ``None``: never."""
        return self._limit

    def _compute_limit(self) -> float | None:
        if self.timeout is not None:
            return None if math.isinf(self.timeout) else self.timeout
        if self._intervals:
            return max(FLOOR, MULTIPLIER * max(self._intervals))
        if self.ping_interval > 0:
            return 2 * self.ping_interval + PONG_GRACE
        return None

    def _silent_since(self) -> float:
        learned = self.timeout is not None or bool(self._intervals)
        return self._last_message if learned else self._last_frame

    def remaining(self, now: float) -> float | None:
        """Seconds left before the connection counts as dead (≤ 0: it is); ``None``: never."""
        limit = self._limit
        if limit is None:
            return None
        return limit - (now - self._silent_since())

    def expired(self, now: float) -> bool:
        """Whether the connection counts as dead at ``now``."""
        left = self.remaining(now)
        return left is not None and left <= 0

    def reason(self, now: float) -> str:
        """Why the connection counts as dead, for the log and the error."""
        silent = now - self._silent_since()
        if self.timeout is not None:
            return f"no message for {silent:.1f} s (heartbeat_timeout={self.timeout:g})"
        if self._intervals:
            return (f"no message for {silent:.1f} s, {MULTIPLIER:g}x the heartbeat interval "
                    f"of {self.interval:.1f} s seen (heartbeat watchdog)")
        return (f"no message and no pong for {silent:.1f} s "
                f"(pings every {self.ping_interval:g} s; heartbeat watchdog)")
