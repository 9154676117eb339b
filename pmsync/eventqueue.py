"""The bounded queue behind ``messages()`` and the rate limit of its overflow reports."""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable

from .codec import Event

__all__ = ["EventQueue", "OverflowReports"]


class EventQueue:
    """The bounded queue behind ``messages()``: drops the oldest when full.

    One producer (the reader) appends without a lock while there is room:
    ``deque`` appends are atomic and only make the queue longer. Dropping the
    oldest takes the condition's lock, and so does every consumer's pop, so a
    drop never races a pop (a consumer that saw an item gets it). The producer
    takes the lock otherwise only to wake a consumer that is waiting. A
    consumer registers as waiting under the lock *before* it looks at the
    deque, so an event appended after its look sees the registration and
    notifies (no lost wake-up).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: collections.deque[Event] = collections.deque()
        self._cond = threading.Condition(threading.Lock())
        self._closed = False
        self._waiting = 0
        self.dropped = 0
        self.in_use = False

    def put(self, event: Event) -> bool:
        """Add ``event``; return True if the oldest was dropped for it."""
        size = self.size
        if size <= 0:
            return False
        items = self._items
        if len(items) >= size:
            with self._cond:
                dropped = len(items) >= size
                if dropped:
                    items.popleft()
                    self.dropped += 1
                items.append(event)
                if self._waiting:
                    self._cond.notify()
            return dropped
        items.append(event)
        if self._waiting:
            with self._cond:
                self._cond.notify()
        return False

    def get(self, timeout: float | None) -> Event | None:
        """The oldest event; None on timeout or once closed and empty."""
        items = self._items
        with self._cond:
            self._waiting += 1
            try:
                if not self._cond.wait_for(lambda: items or self._closed, timeout):
                    return None
            finally:
                self._waiting -= 1
            return items.popleft() if items else None

    def close(self) -> None:
        """Wake every consumer; they drain what is left, then stop."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class OverflowReports:
    """At most one :class:`~pmsync.errors.QueueOverflow` report per ``interval``.

    :meth:`due` is given the queue's running total of drops and returns how
    many to report now (dropped since the last report), or 0 while the last
    report is younger than ``interval``. ``clock`` is injectable for tests.
    """

    __slots__ = ("clock", "interval", "reported", "_last")

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, interval: float = 1.0
    ) -> None:
        self.clock = clock
        self.interval = interval
        #: the drop total covered by reports (or skipped while nobody read the queue)
        self.reported = 0
        self._last = -math.inf

    def due(self, dropped: int) -> int:
        """How many drops to report now (0: none)."""
        if dropped <= self.reported:
            return 0
        now = self.clock()
        if now - self._last < self.interval:
            return 0
        count, self.reported, self._last = dropped - self.reported, dropped, now
        return count

    def skip(self, dropped: int) -> None:
        """Drops nobody will hear of (``messages()`` not in use yet)."""
        self.reported = dropped
