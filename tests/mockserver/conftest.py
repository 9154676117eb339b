"""Fixtures of the mockserver tests."""

from __future__ import annotations

import pytest

from mockserver import MockServer


@pytest.fixture
def quiet_server(pm_mockserver: MockServer) -> MockServer:
    """The session server with the ticker paused (updates only from tick()/inject_*)."""
    pm_mockserver.pause_ticker()
    return pm_mockserver
