"""Why a connection attempt failed, said so that the user knows what to do.

:func:`failed_attempt` turns what ``websocket-client`` raised into a
:class:`~pmsync.errors.ConnectionClosed`. On the first connect, a failure that
retrying cannot fix becomes a :class:`Misconfigured` and is refused at once:

- a scheme mismatch: ``wss://`` to a server that answers plain HTTP, or
  ``ws://`` to a server that answers a TLS handshake (checked by one short
  probe of the same host and port, which sends no credentials);
- a host name that does not resolve.

:func:`certificate_failed` names every way to trust a private CA.
"""

from __future__ import annotations

import socket
import ssl
import urllib.parse
from typing import Any

import websocket

from .errors import ConnectionClosed

__all__ = ["PROBE_TIMEOUT", "Misconfigured", "certificate_failed", "failed_attempt"]

#: Longest wait, in seconds, of the probe that tells a scheme mismatch.
PROBE_TIMEOUT = 2.0

# getaddrinfo errors that mean "no such name" (EAI_AGAIN, a resolver hiccup, is retried).
_NO_SUCH_HOST = {
    code for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None),
                      getattr(socket, "EAI_FAIL", None)) if code is not None
}


class Misconfigured(ConnectionClosed):
    """A connection attempt failed in a way retrying cannot fix; never retried.

    The message says what is wrong and how to fix it (wrong scheme, unknown
    host, untrusted certificate).
    """


def _parts(url: str) -> tuple[str, str, int]:
    parsed = urllib.parse.urlsplit(url)
    scheme = parsed.scheme.lower()
    host = parsed.hostname or ""
    port = parsed.port or (443 if scheme == "wss" else 80)
    return scheme, host, port


def _base(url: str, scheme: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    return f"{scheme}://{parsed.netloc}"


def _speaks_http(host: str, port: int, timeout: float) -> bool:
    """True if the server answers a plain HTTP request (so it does not speak TLS)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"HEAD / HTTP/1.0\r\nHost: " + host.encode("idna") + b"\r\n\r\n")
            return sock.recv(5) == b"HTTP/"
    except (OSError, UnicodeError):
        return False


def _speaks_tls(host: str, port: int, timeout: float) -> bool:
    """True if the server completes a TLS handshake (certificate not checked)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            with context.wrap_socket(sock, server_hostname=host or None):
                return True
    except (OSError, ValueError):
        return False


def _cause(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running, and on this port?)"
    if isinstance(exc, (socket.timeout, websocket.WebSocketTimeoutException)):
        return "no answer in time"
    return str(exc) or type(exc).__name__


def failed_attempt(url: str, exc: BaseException, *, first: bool, options: Any) -> ConnectionClosed:
    """The error for a failed connection attempt to ``url``.

    ``first``: the attempt belongs to the first connect, where a scheme
    mismatch and an unknown host become a :class:`Misconfigured`. ``options``
    is the connection's :class:`~pmsync.connection.ConnectionOptions`.
    """
    scheme, host, port = _parts(url)
    inner = exc.args[0] if isinstance(exc, websocket.WebSocketAddressException) and exc.args else exc
    if isinstance(inner, socket.gaierror):
        if first and inner.errno in _NO_SUCH_HOST:
            return Misconfigured(
                f"{url}: unknown host {host!r} ({inner.strerror}); check the host in "
                "base_url or POLYMARKET_WS_URL"
            )
        return ConnectionClosed(f"{url}: cannot resolve {host!r}: {inner.strerror}")
    probe = (
        first
        and not getattr(options, "http_proxy_host", None)
        and not isinstance(exc, (ConnectionRefusedError, socket.timeout,
                                 websocket.WebSocketTimeoutException))
    )
    if probe:
        timeout = min(PROBE_TIMEOUT, float(getattr(options, "connect_timeout", PROBE_TIMEOUT)))
        if scheme == "wss" and isinstance(exc, ssl.SSLError) and _speaks_http(host, port, timeout):
            return Misconfigured(
                f"{url}: the server does not speak TLS: use {_base(url, 'ws')} "
                f"(TLS handshake failed: {exc})"
            )
        if scheme == "ws" and _speaks_tls(host, port, timeout):
            return Misconfigured(
                f"{url}: the server speaks TLS: use {_base(url, 'wss')} ({_cause(exc)})"
            )
    return ConnectionClosed(f"{url}: cannot connect: {_cause(exc)}")


def certificate_failed(url: str, exc: ssl.SSLCertVerificationError) -> Misconfigured:
    """The error for a server certificate that did not verify, naming how to trust a CA."""
    return Misconfigured(
        f"{url}: TLS certificate verification failed ({exc.verify_message}); to trust a "
        "private CA pass sslopt={'ca_certs': PATH} (or sslopt={'context': ssl_context}) "
        "to the client, --ca-file PATH to the pmsync command, or set SSL_CERT_FILE=PATH"
    )
