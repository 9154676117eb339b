"""pytest plugin of mockserver (registered through the ``pytest11`` entry point).

Fixtures:

- ``pm_mockserver``: the session's :class:`~mockserver.MockServer`, cleared
  (state, faults, journal, connections) before each test; its
  ``check_assertions()`` runs at teardown.
- ``pm_credentials``: the demo credentials of that server as a ``pmsync.Credentials``.
- ``pm_mockserver_factory``: ``factory(**options) -> MockServer`` for extra,
  started servers with their own options, stopped at teardown.

Ini options (``[tool:pytest]``): ``mockserver_seed``, ``mockserver_dialect``,
``mockserver_heartbeat_interval``, ``mockserver_tick_interval``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .server import MockServer, demo_credentials

if TYPE_CHECKING:
    from pmsync import Credentials

__all__ = [
    "pm_credentials",
    "pm_mockserver",
    "pm_mockserver_factory",
    "pm_mockserver_session",
    "pytest_addoption",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ini options of the session mock server."""
    parser.addini("mockserver_seed", "seed of the session mock server", default="0")
    parser.addini("mockserver_dialect", "dialect of the session mock server (snake|camel)", default="snake")
    parser.addini("mockserver_heartbeat_interval", "heartbeat interval of the session mock server (s)",
                  default="1.0")
    parser.addini("mockserver_tick_interval", "tick interval of the session mock server (s)", default="0.5")


@pytest.fixture(scope="session")
def pm_mockserver_session(pytestconfig: pytest.Config) -> Iterator[MockServer]:
    """The session-scoped mock server on a free port (prefer ``pm_mockserver``)."""
    server = MockServer(
        "127.0.0.1",
        0,
        seed=int(pytestconfig.getini("mockserver_seed")),
        dialect=str(pytestconfig.getini("mockserver_dialect")),
        heartbeat_interval=float(pytestconfig.getini("mockserver_heartbeat_interval")),
        tick_interval=float(pytestconfig.getini("mockserver_tick_interval")),
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pm_mockserver(pm_mockserver_session: MockServer) -> Iterator[MockServer]:
    """The session mock server, cleared for this test; fails the test on server-side problems."""
    pm_mockserver_session.clear()
    yield pm_mockserver_session
    pm_mockserver_session.wait_idle()  # let closing connections finish: no threads leak into the next test
    pm_mockserver_session.check_assertions()


@pytest.fixture
def pm_credentials(pm_mockserver_session: MockServer) -> Credentials:
    """The demo credentials of the session mock server as ``pmsync.Credentials``."""
    from pmsync import Credentials

    return Credentials.from_base64(*demo_credentials(pm_mockserver_session.seed))


@pytest.fixture
def pm_mockserver_factory() -> Iterator[Callable[..., MockServer]]:
    """A factory of extra started mock servers (``MockServer`` keyword options), stopped at teardown."""
    servers: list[MockServer] = []

    def factory(**options: Any) -> MockServer:
        options.setdefault("heartbeat_interval", 1.0)
        server = MockServer(**options)
        server.start()
        servers.append(server)
        return server

    yield factory
    problems: list[str] = []
    for server in servers:
        server.stop()
        try:
            server.check_assertions()
        except AssertionError as exc:
            problems.append(str(exc))
    if problems:
        pytest.fail("\n".join(problems))
