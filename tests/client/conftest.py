"""Fixtures for client tests: a client factory that closes what it made, an
event recorder to wait on, and a thread-leak check after every test."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import pmsync
from pmsync.client import _Client


class Recorder:
    """A thread-safe list of whatever a callback receives, with waiting."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._cond = threading.Condition()

    def __call__(self, *args: Any) -> None:
        with self._cond:
            self.items.append(args[0] if len(args) == 1 else args)
            self._cond.notify_all()

    def wait_for(
        self, predicate: Callable[[list[Any]], bool], timeout: float = 10.0
    ) -> list[Any]:
        """Wait until ``predicate(items)`` holds; return a copy of the items."""
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self.items), timeout):
                raise AssertionError(
                    f"condition not met within {timeout} s; got {len(self.items)} item(s): "
                    f"{[getattr(i, 'kind', i) for i in self.items][:30]}"
                )
            return list(self.items)

    def wait_count(self, n: int, timeout: float = 10.0) -> list[Any]:
        """Wait until at least ``n`` items arrived."""
        return self.wait_for(lambda items: len(items) >= n, timeout)

    def kinds(self) -> list[str]:
        with self._cond:
            return [getattr(i, "kind", None) for i in self.items]

    def __len__(self) -> int:
        with self._cond:
            return len(self.items)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    """Poll ``predicate`` (every 10 ms) until true; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        pause.wait(0.01)


def pmsync_threads() -> list[str]:
    """Names of live threads started by pmsync."""
    return [t.name for t in threading.enumerate() if t.name.startswith("pmsync-")]


@pytest.fixture
def recorder() -> Callable[[], Recorder]:
    """``recorder()`` makes a new :class:`Recorder`."""
    return Recorder


@pytest.fixture(autouse=True)
def no_thread_left() -> Iterator[None]:
    """Every pmsync thread a test starts is gone at its end."""
    before = set(threading.enumerate())
    yield
    wait_until(lambda: not pmsync_threads(), 5.0, "pmsync threads to end")
    wait_until(
        lambda: not [t for t in set(threading.enumerate()) - before if t.name.startswith("pmsync")],
        5.0,
        "threads back to baseline",
    )


@pytest.fixture
def make_client(
    pm_mockserver: Any, pm_credentials: pmsync.Credentials
) -> Iterator[Callable[..., Any]]:
    """``make_client(cls=MarketsClient, server=None, **options)``: a client of the
    session mock server (or ``server``) with test-friendly defaults, closed at teardown."""
    made: list[_Client] = []

    def factory(cls: type[_Client] = pmsync.MarketsClient, server: Any = None, **options: Any) -> Any:
        target = server if server is not None else pm_mockserver
        options.setdefault("base_url", target.url)
        options.setdefault("backoff_initial", 0.05)
        options.setdefault("backoff_max", 0.5)
        options.setdefault("heartbeat_timeout", 5.0)
        options.setdefault("connect_timeout", 5.0)
        client = cls(pm_credentials, **options)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()
