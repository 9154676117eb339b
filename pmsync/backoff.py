"""Reconnect backoff as a pure, bounded policy (no I/O, no clock of its own).

Modelled on websockets' ``backoff()`` generator: the wait doubles from
``initial`` up to ``maximum`` with jitter. Every number stays bounded at any
attempt count: the exponent is capped before ``**`` (so no ``OverflowError``
after ~1,025 failures) and the failure streak saturates. The reset rule and
the one definition of a *healthy* connection live here too.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import attrs

__all__ = ["HEALTHY_AFTER", "Backoff", "MAX_EXPONENT", "Streak", "backoff", "healthy"]

#: A connection that stays up this long counts as healthy.
HEALTHY_AFTER = 30.0

#: The exponent never exceeds this: ``2.0 ** 64`` times any sane ``initial``
#: is far past any ``maximum``, and the power never overflows.
MAX_EXPONENT = 64


def healthy(snapshot_seen: bool, up_for: float) -> bool:
    """The one definition of a healthy connection: it delivered a complete
    snapshot, or it stayed up :data:`HEALTHY_AFTER` seconds."""
    return snapshot_seen or up_for >= HEALTHY_AFTER


@attrs.frozen(kw_only=True)
class Backoff:
    """Waits between reconnect attempts: ``initial · factor^(n-1)``, capped at
    ``maximum``, times a jitter of 50–100 %, and never less than a server's
    ``Retry-After``."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0

    def step(self, attempt: int) -> float:
        """The wait before jitter for the ``attempt``-th failure in a row (1-based)."""
        exponent = min(max(0, attempt - 1), MAX_EXPONENT)
        return min(self.maximum, self.initial * self.factor**exponent)

    def delay(
        self, attempt: int, retry_after: float | None = None, rand: float | None = None
    ) -> float:
        """The jittered wait; ``rand`` in [0, 1) (default ``random.random()``)."""
        r = random.random() if rand is None else rand
        wait = self.step(attempt) * (0.5 + r / 2)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait


def backoff(
    initial: float = 0.5,
    maximum: float = 30.0,
    factor: float = 2.0,
    rand: Callable[[], float] = random.random,
) -> Iterator[float]:
    """Endless jittered waits, as websockets' ``backoff()``; bounded forever."""
    policy = Backoff(initial=initial, maximum=maximum, factor=factor)
    attempt = 0
    while True:
        attempt = min(attempt + 1, MAX_EXPONENT + 1)
        yield policy.delay(attempt, rand=rand())


class Streak:
    """Failures in a row since the last healthy connection, saturating.

    ``failed()`` counts one and returns the attempt number the policy uses;
    ``connection_ended(was_healthy)`` is the reset rule: a healthy connection
    starts the next outage from ``initial`` again, an unhealthy one does not.
    """

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def failed(self) -> int:
        """Count one failure; the (bounded) attempt number for :meth:`Backoff.delay`."""
        self.count = min(self.count + 1, MAX_EXPONENT + 1)
        return self.count

    def connection_ended(self, was_healthy: bool) -> None:
        """Apply the reset rule when a connection ends."""
        if was_healthy:
            self.count = 0
