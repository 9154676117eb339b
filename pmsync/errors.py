"""The exception hierarchy of pmsync, rooted at :class:`PmsyncError`."""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "ConnectionClosed",
    "DecodeError",
    "HandshakeError",
    "PmsyncError",
    "QueueOverflow",
    "SubscriptionError",
]

_RAW_LIMIT = 1024


class PmsyncError(Exception):
    """Base class of every exception pmsync raises on purpose."""


class ConfigurationError(PmsyncError, ValueError):
    """Bad configuration given at construction time (credentials, options)."""


class DecodeError(PmsyncError, ValueError):
    """A frame from the server could not be decoded.

    ``reason`` says why; ``raw`` holds the frame's text, truncated to 1 KiB.
    """

    def __init__(self, reason: str, raw: str | bytes = "") -> None:
        if isinstance(raw, bytes):
            raw = raw[:_RAW_LIMIT].decode("utf-8", "backslashreplace")
        self.reason = reason
        self.raw = raw[:_RAW_LIMIT]
        super().__init__(reason)

    def __str__(self) -> str:
        return f"{self.reason} (frame: {self.raw[:200]!r})"


class SubscriptionError(PmsyncError):
    """A subscription was refused, locally before sending or by the server.

    ``request_id`` names the subscription when there is one.
    """

    def __init__(self, message: str, request_id: str | None = None) -> None:
        self.request_id = request_id
        super().__init__(message)


class ConnectionClosed(PmsyncError, ConnectionError):
    """The connection is closed or could not be opened.

    ``code`` and ``reason`` are the WebSocket close code and reason, when known.
    """

    def __init__(self, message: str, code: int | None = None, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        super().__init__(message)


class HandshakeError(ConnectionClosed):
    """The server answered the WebSocket upgrade with an HTTP error status.

    ``status``, ``body`` and ``retry_after`` (seconds, or ``None``) come from the
    response. 429 and 5xx are retried by the client; see :class:`AuthenticationError`
    for 401/403.
    """

    def __init__(
        self, message: str, status: int, body: str = "", retry_after: float | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.retry_after = retry_after
        super().__init__(message)


class AuthenticationError(HandshakeError):
    """The server refused the credentials (HTTP 401 or 403). Never retried."""


class QueueOverflow(PmsyncError):
    """The ``messages()`` queue was full and its oldest events were dropped.

    Reported at most once per second per client; ``dropped`` counts the events
    dropped since the previous report.
    """

    def __init__(self, dropped: int) -> None:
        self.dropped = dropped
        super().__init__(f"messages() queue full: dropped {dropped} oldest event(s)")
