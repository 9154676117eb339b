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
- a ``messages()`` queue overflow (at most once per second);
- a frame that does not decode, and a callback that raised (without
  ``on_callback_error``): the first :data:`REPEATS_SHOWN` of each kind per
  client, then one line saying the rest are only counted in ``stats()``;
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

from .errors import DecodeError, SubscriptionError

__all__ = ["REPEATS_SHOWN", "attempt_failed", "callback_failed", "refused", "unhandled",
           "write_line"]

#: Decode errors, and callback errors, printed per client; later ones are only counted.
REPEATS_SHOWN = 3

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
    if isinstance(error, DecodeError) and not _first_few(
        client, "_decode_errors", "more frames did not decode", "on_error"
    ):
        return
    write_line(f"{_who(client)}: {type(error).__name__}: {error}")


def _first_few(client: Any, counter: str, what: str, handler: str) -> bool:
    """True for the first :data:`REPEATS_SHOWN` of a kind; one line says when the rest start."""
    count = int(getattr(client, counter, 0))
    if count == REPEATS_SHOWN + 1:
        write_line(f"{_who(client)}: {what}; from now on they are only counted in "
                   f"client.stats()[{counter.lstrip('_')!r}] ({handler}= receives each)")
    return count <= REPEATS_SHOWN


def callback_failed(client: Any, callback: Any, error: BaseException) -> None:
    """Print that a callback raised (the client has no ``on_callback_error``); the reader goes on."""
    if not _first_few(client, "_callback_errors", "more callbacks raised", "on_callback_error"):
        return
    name = str(getattr(callback, "__qualname__", None) or repr(callback)).rsplit("<locals>.", 1)[-1]
    where = ""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        code = tb.tb_frame.f_code
        where = f" at {code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}"
    write_line(f"{_who(client)}: callback {name} raised {type(error).__name__}: {error}{where}; "
               "the stream goes on (on_callback_error= handles these)")


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
