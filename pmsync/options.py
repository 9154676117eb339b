"""Client options, checked at construction: one clear line per mistake.

Every number must be a real number (NaN is refused everywhere), times and
sizes must not be negative, and ``inf`` is accepted only where the README
defines it as "never": ``heartbeat_timeout`` (no watchdog; ``None`` is the
adaptive watchdog) and ``ping_interval`` (no pings, as ``0``). Times are at most
:data:`MAX_SECONDS`, which sockets and waits accept on every platform.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import ConfigurationError

__all__ = ["MAX_SECONDS", "check_options"]

#: The longest time option accepted, in seconds (about 11.6 days).
MAX_SECONDS = 1_000_000.0


def _fail(name: str, value: Any, rule: str) -> ConfigurationError:
    return ConfigurationError(f"{name} must be {rule}, got {value!r}")


def _seconds(name: str, value: Any, *, zero: bool = False, never: bool = False) -> float:
    """A time option: a finite number > 0 (``>= 0`` with ``zero``), or ``inf`` with ``never``."""
    rule = "a number of seconds " + (">= 0" if zero else "> 0")
    if never:
        rule += " or inf (never)"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(name, value, rule)
    number = float(value)
    if math.isnan(number) or number < 0 or (number == 0 and not zero):
        raise _fail(name, value, rule)
    if math.isinf(number):
        if not never:
            raise _fail(name, value, rule)
        return number
    if number > MAX_SECONDS:
        limit = f"at most {MAX_SECONDS:,.0f} s" + (" or inf (never)" if never else "")
        raise _fail(name, value, limit)
    return number


def _count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(name, value, f"an int >= {minimum}")
    return value


def check_options(
    *,
    heartbeat_timeout: Any,
    backoff_initial: Any,
    backoff_max: Any,
    max_reconnect_attempts: Any,
    queue_size: Any,
    ping_interval: Any,
    connect_timeout: Any,
) -> dict[str, Any]:
    """Validate the numeric options; return them normalised (``inf`` → never).

    Raises :class:`~pmsync.errors.ConfigurationError` naming the option and value.
    """
    heartbeat: float | None = None  # None: learn the heartbeat interval (pmsync.watchdog)
    if heartbeat_timeout is not None:
        heartbeat = _seconds("heartbeat_timeout", heartbeat_timeout, never=True)
    ping = _seconds("ping_interval", ping_interval, zero=True, never=True)
    initial = _seconds("backoff_initial", backoff_initial)
    maximum = _seconds("backoff_max", backoff_max)
    return {
        "heartbeat_timeout": heartbeat,
        "backoff_initial": initial,
        "backoff_max": max(maximum, initial),
        "max_reconnect_attempts": None
        if max_reconnect_attempts is None
        else _count("max_reconnect_attempts", max_reconnect_attempts, 1),
        "queue_size": _count("queue_size", queue_size, 0),
        "ping_interval": 0.0 if math.isinf(ping) else ping,
        "connect_timeout": _seconds("connect_timeout", connect_timeout),
    }


def check_timeout(name: str, value: Any) -> float | None:
    """A timeout argument of a method: ``None`` (no limit) or seconds >= 0 (inf: no limit)."""
    if value is None:
        return None
    number = _seconds(name, value, zero=True, never=True)
    return None if math.isinf(number) else number


def _endpoint_url(base_url: str, path: str) -> str:
    if not isinstance(base_url, str) or "://" not in base_url:
        raise ConfigurationError(f"base_url must be a ws:// or wss:// URL, got {base_url!r}")
    scheme, rest = base_url.split("://", 1)
    scheme = {"http": "ws", "https": "wss"}.get(scheme.lower(), scheme.lower())
    if scheme not in ("ws", "wss"):
        raise ConfigurationError(f"base_url must be a ws:// or wss:// URL, got {base_url!r}")
    rest, _, query = rest.partition("?")
    url = f"{scheme}://{rest.rstrip('/')}{path}"
    return f"{url}?{query}" if query else url
