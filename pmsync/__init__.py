"""pmsync: a synchronous, thread-based client for the Polymarket US WebSocket API."""

from __future__ import annotations

import logging

from .auth import Credentials
from .book import OrderBook
from .client import MarketsClient, PrivateClient, Subscription
from .codec import Event
from .errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionClosed,
    DecodeError,
    HandshakeError,
    PmsyncError,
    QueueOverflow,
    SubscriptionError,
)

__all__ = [
    "Event",
    "MarketsClient",
    "OrderBook",
    "PrivateClient",
    "Subscription",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectionClosed",
    "Credentials",
    "DecodeError",
    "HandshakeError",
    "PmsyncError",
    "QueueOverflow",
    "SubscriptionError",
]

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
