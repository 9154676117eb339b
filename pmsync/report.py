"""Where a client's errors go when the program gave it no ``on_error``.

The policy, the way :func:`threading.excepthook` treats a thread's uncaught
exception: an error the user must know about is written as one line to
``sys.stderr``, prefixed ``pmsync:``; giving ``on_error`` takes every error over
and nothing is printed. What is printed without ``on_error``:

- a subscription the server refused: its text, the request id, the type and
  the markets (:func:`refused` builds that :class:`~pmsync.errors.SubscriptionError`);
- a fatal error that stops the client: a handshake refused on reconnect
  (:class:`~pmsync.errors.AuthenticationError`), retries exhausted
  (:class:`~pmsync.errors.ConnectionClosed`);
- a ``messages()`` queue overflow (once per burst);
- a frame that does not decode, for the first :data:`DECODE_ERRORS_SHOWN` of a
  client, then one line saying the rest are only counted;
- each failed attempt of the first connect, while ``connect()`` retries
  (:func:`attempt_failed`): attempt number, cause, next wait.

Routine, recovered events (a dropped connection that reconnects) are only
logged (``pmsync.connection``, WARNING/INFO): ``logging.basicConfig()`` shows them.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from typing import Any

from .errors import DecodeError, PmsyncError, SubscriptionError

__all__ = ["DECODE_ERRORS_SHOWN", "attempt_failed", "refused", "unhandled", "write_line"]

#: Decode errors printed per client without ``on_error``; later ones are only counted.
DECODE_ERRORS_SHOWN = 3

_write_lock = threading.Lock()


def write_line(text: str) -> None:
    """Write ``pmsync: text`` as one line on ``sys.stderr`` (never raises)."""
    line = "pmsync: " + " ".join(text.split("\n")) + "\n"
    stream = sys.stderr
    if stream is None:  # pythonw: no console
        return
    try:
        with _write_lock:
            stream.write(line)
            stream.flush()
    except (OSError, ValueError):  # a closed or broken stderr must not kill the reader
        pass


def _who(client: Any) -> str:
    return type(client).__name__


def unhandled(client: Any, error: BaseException) -> None:
    """Print ``error`` of ``client`` (which has no ``on_error``) if the user must see it."""
    if isinstance(error, DecodeError):
        count = int(getattr(client, "_decode_errors", 0))
        if count > DECODE_ERRORS_SHOWN + 1:
            return
        if count == DECODE_ERRORS_SHOWN + 1:
            write_line(f"{_who(client)}: more frames did not decode; they are counted in "
                       "client.stats()['decode_errors'] (on_error= receives each)")
            return
    name = type(error).__name__ if isinstance(error, PmsyncError) else repr(type(error).__name__)
    write_line(f"{_who(client)}: {name}: {error}")


def refused(
    request_id: str | None,
    text: str,
    subscription_type: str | None = None,
    market_slugs: Iterable[str] = (),
) -> SubscriptionError:
    """The error for a server ``error`` response: its text, request id, type and markets."""
    if not request_id:
        return SubscriptionError(f"server error: {text}", request_id)
    slugs = list(market_slugs)
    what = []
    if subscription_type:
        what.append(subscription_type.removeprefix("SUBSCRIPTION_TYPE_").lower())
    if slugs:
        shown = ", ".join(slugs[:5]) + (f" and {len(slugs) - 5} more" if len(slugs) > 5 else "")
        what.append(f"markets {shown}")
    detail = f" ({'; '.join(what)})" if what else ""
    return SubscriptionError(
        f"subscription {request_id!r}{detail} refused by the server: {text}", request_id
    )


def attempt_failed(client: Any, attempt: int, error: BaseException, delay: float,
                   remaining: float | None) -> None:
    """Report one failed attempt of the first connect: printed without ``on_error``."""
    if getattr(client, "on_error", None) is not None:
        return  # the program handles errors; connect() raises the last one if it gives up
    until = "" if remaining is None else f" (connect() gives up in {max(0.0, remaining):.1f} s)"
    write_line(f"{_who(client)}: connect attempt {attempt} failed: {error}; "
               f"retrying in {delay:.1f} s{until}")
