"""mockserver: a mock of the Polymarket US WebSocket API for offline, deterministic tests.

>>> from mockserver import MockServer, demo_credentials
>>> with MockServer(seed=0) as server:          # doctest: +SKIP
...     key_id, secret = demo_credentials(0)
...     url = server.url + "/v1/ws/markets"
"""

from __future__ import annotations

import logging

from .exchange import DEFAULT_MARKETS, MARKET_STATES, Event, Exchange
from .faults import FAULTS, FaultKind, FaultRegistry
from .journal import DEFAULT_JOURNAL_SIZE
from .server import (
    ConnectionInfo,
    HandshakeRecord,
    Journal,
    JournalEntry,
    MockServer,
    SubscriptionInfo,
    demo_credentials,
)

__all__ = [
    "DEFAULT_JOURNAL_SIZE",
    "DEFAULT_MARKETS",
    "FAULTS",
    "MARKET_STATES",
    "ConnectionInfo",
    "Event",
    "Exchange",
    "FaultKind",
    "FaultRegistry",
    "HandshakeRecord",
    "Journal",
    "JournalEntry",
    "MockServer",
    "SubscriptionInfo",
    "demo_credentials",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
