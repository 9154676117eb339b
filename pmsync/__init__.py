"""pmsync: a synchronous, thread-based client for the Polymarket US WebSocket API."""

from __future__ import annotations

import logging

from .auth import Credentials
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
