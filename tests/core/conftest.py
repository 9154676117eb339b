"""The core is sans-I/O: no test under tests/core may open a socket or start a thread."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest


class NetworkUsed(AssertionError):
    """A core test tried to use the network."""


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise NetworkUsed(f"the sans-I/O core tried to open a connection: {args!r}")


@pytest.fixture(autouse=True)
def no_io(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make any connect attempt fail loudly and check no thread is left running."""
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse)
    monkeypatch.setattr(socket.socket, "bind", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)
    threads_before = threading.active_count()
    started: list[threading.Thread] = []
    real_start = threading.Thread.start

    def spy_start(self: threading.Thread) -> None:
        started.append(self)
        real_start(self)

    monkeypatch.setattr(threading.Thread, "start", spy_start)
    yield
    assert started == [], f"a core test started threads: {started!r}"
    assert threading.active_count() == threads_before
