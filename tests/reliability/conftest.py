"""Fixtures of the reliability tests: unhandled thread exceptions are recorded
(and fail the test), and threads are back to their baseline at the end."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.client.conftest import wait_until


class ThreadErrors:
    """Every exception that escaped a thread while installed (``threading.excepthook``)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, args: threading.ExceptHookArgs) -> None:
        with self._lock:
            name = args.thread.name if args.thread is not None else "?"
            self.items.append(f"{name}: {args.exc_type.__name__}: {args.exc_value}")


@pytest.fixture
def thread_errors() -> Iterator[ThreadErrors]:
    """Record unhandled exceptions in any thread; fail the test if there were any."""
    recorder = ThreadErrors()
    previous = threading.excepthook
    threading.excepthook = recorder
    try:
        yield recorder
    finally:
        threading.excepthook = previous
    assert recorder.items == [], f"unhandled exceptions in threads: {recorder.items}"


@pytest.fixture
def thread_baseline() -> Iterator[int]:
    """The thread count before the test; at the end it must be back to it."""
    before = threading.active_count()
    yield before
    wait_until(lambda: threading.active_count() <= before, 10.0,
               f"threads back to baseline {before} (now: "
               f"{[t.name for t in threading.enumerate()]})")
