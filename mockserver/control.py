"""The HTTP control API of the mock server (GET only, on the WebSocket port).

Every route answers JSON ``{"ok": true, ...}``; bad parameters get 400 with a
specific message, unknown routes 404. ``/control/markets`` answers a plain JSON
list of slugs and ``/control/journal`` answers JSON lines.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import MockServer

__all__ = ["ROUTES", "ControlError", "handle_control"]

log = logging.getLogger("mockserver.control")

Query = dict[str, list[str]]


class ControlError(Exception):
    """A control request that cannot be served: HTTP status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _get(query: Query, name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _float(query: Query, name: str, default: float | None = None, required: bool = False) -> float | None:
    raw = _get(query, name)
    if raw is None or raw == "":
        if required:
            raise ControlError(400, f"missing parameter {name!r}")
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ControlError(400, f"parameter {name!r} must be a number, got {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ControlError(400, f"parameter {name!r} must be finite, got {raw!r}")
    return value


def _int(query: Query, name: str, default: int) -> int:
    raw = _get(query, name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ControlError(400, f"parameter {name!r} must be an integer, got {raw!r}") from None


Handler = Callable[["MockServer", Query], Any]


def _drop(s: MockServer, q: Query) -> Any:
    return {"dropped": s.drop_connections(_get(q, "path"))}


def _close(s: MockServer, q: Query) -> Any:
    return {"closed": s.close_connections(_int(q, "code", 1000), _get(q, "reason") or "", _get(q, "path"))}


def _hb_stop(s: MockServer, q: Query) -> Any:
    s.stop_heartbeats()
    return {"heartbeats": "stopped"}


def _hb_resume(s: MockServer, q: Query) -> Any:
    s.resume_heartbeats()
    return {"heartbeats": "running"}


def _reject(s: MockServer, q: Query) -> Any:
    count = _int(q, "count", 1)
    status = _int(q, "status", 503)
    retry_after = _float(q, "retry_after")
    s.reject_handshakes(count, status, retry_after, _get(q, "body"))
    return {"count": count, "status": status, "retry_after": retry_after}


def _delay(s: MockServer, q: Query) -> Any:
    seconds = _float(q, "seconds", required=True)
    assert seconds is not None
    s.set_delay(seconds)
    return {"delay": seconds}


def _send(kind: str) -> Handler:
    def handler(s: MockServer, q: Query) -> Any:
        path = _get(q, "path")
        if kind == "malformed":
            n = s.send_malformed(path)
        elif kind == "unknown":
            n = s.send_unknown_payload(path)
        elif kind == "binary":
            n = s.send_binary(path)
        else:
            n = s.send_oversized(_int(q, "size", 2_000_000), path)
        return {"sent": n}

    return handler


def _ticker_pause(s: MockServer, q: Query) -> Any:
    s.pause_ticker()
    return {"ticker": "paused"}


def _ticker_resume(s: MockServer, q: Query) -> Any:
    s.resume_ticker()
    return {"ticker": "running"}


def _events(events: list[Any]) -> Any:
    return {"events": [{"kind": e.kind, "slug": e.slug} for e in events]}


def _tick(s: MockServer, q: Query) -> Any:
    return _events(s.tick())


def _inject_trade(s: MockServer, q: Query) -> Any:
    return _events(s.inject_trade(_get(q, "slug") or None))


def _inject_fill(s: MockServer, q: Query) -> Any:
    return _events(s.inject_fill(_get(q, "order_id") or None))


def _inject_balance(s: MockServer, q: Query) -> Any:
    return _events(s.inject_balance_change(_get(q, "amount") or "10.00", _get(q, "description") or "Deposit"))


def _inject_market_state(s: MockServer, q: Query) -> Any:
    slug, state = _get(q, "slug"), _get(q, "state")
    if not slug:
        raise ControlError(400, "missing parameter 'slug'")
    if not state:
        raise ControlError(400, "missing parameter 'state'")
    return _events(s.inject_market_state(slug, state))


def _inject_rfq(s: MockServer, q: Query) -> Any:
    return _events(s.inject_rfq(_get(q, "slug") or None))


def _clear(s: MockServer, q: Query) -> Any:
    s.clear()
    return {"cleared": True}


def _connections(s: MockServer, q: Query) -> Any:
    return {"connections": [
        {"id": c.id, "path": c.path, "dialect": c.dialect,
         "subscriptions": {rid: {"subscription_type": t, "market_slugs": list(slugs)}
                           for rid, (t, slugs) in c.subscriptions.items()}}
        for c in s.connections]}


def _handshakes(s: MockServer, q: Query) -> Any:
    return {"handshakes": [asdict(h) for h in s.handshakes]}


#: Route → (allowed query parameters, handler).
ROUTES: dict[str, tuple[frozenset[str], Handler]] = {
    "/control/drop": (frozenset({"path"}), _drop),
    "/control/close": (frozenset({"code", "reason", "path"}), _close),
    "/control/heartbeats/stop": (frozenset(), _hb_stop),
    "/control/heartbeats/resume": (frozenset(), _hb_resume),
    "/control/reject": (frozenset({"count", "status", "retry_after", "body"}), _reject),
    "/control/delay": (frozenset({"seconds"}), _delay),
    "/control/send/malformed": (frozenset({"path"}), _send("malformed")),
    "/control/send/unknown": (frozenset({"path"}), _send("unknown")),
    "/control/send/binary": (frozenset({"path"}), _send("binary")),
    "/control/send/oversized": (frozenset({"path", "size"}), _send("oversized")),
    "/control/ticker/pause": (frozenset(), _ticker_pause),
    "/control/ticker/resume": (frozenset(), _ticker_resume),
    "/control/tick": (frozenset(), _tick),
    "/control/inject/trade": (frozenset({"slug"}), _inject_trade),
    "/control/inject/fill": (frozenset({"order_id"}), _inject_fill),
    "/control/inject/balance": (frozenset({"amount", "description"}), _inject_balance),
    "/control/inject/market_state": (frozenset({"slug", "state"}), _inject_market_state),
    "/control/inject/rfq": (frozenset({"slug"}), _inject_rfq),
    "/control/clear": (frozenset(), _clear),
    "/control/connections": (frozenset(), _connections),
    "/control/handshakes": (frozenset(), _handshakes),
}


def handle_control(server: MockServer, path: str, query: Query) -> tuple[int, str, str]:
    """Serve one control request: returns ``(status, content_type, body)``."""
    path = path.rstrip("/") or path
    if path == "/control/markets":
        return 200, "application/json", json.dumps(server.markets) + "\n"
    if path == "/control/journal":
        return 200, "application/x-ndjson", server.journal.jsonl()
    route = ROUTES.get(path)
    if route is None:
        known = ", ".join(sorted([*ROUTES, "/control/markets", "/control/journal"]))
        return 404, "application/json", json.dumps(
            {"ok": False, "error": f"unknown control route {path}; known: {known}"}) + "\n"
    allowed, handler = route
    try:
        unknown = sorted(set(query) - allowed)
        if unknown:
            raise ControlError(400, f"unknown parameter {unknown[0]!r} for {path}"
                               + (f"; allowed: {', '.join(sorted(allowed))}" if allowed else "; it takes none"))
        result = handler(server, query)
    except ControlError as exc:
        return exc.status, "application/json", json.dumps({"ok": False, "error": exc.message}) + "\n"
    except (ValueError, KeyError, LookupError) as exc:
        message = exc.args[0] if exc.args else repr(exc)
        return 400, "application/json", json.dumps({"ok": False, "error": str(message)}) + "\n"
    log.info("control %s %s", path, {k: v[-1] for k, v in query.items()})
    return 200, "application/json", json.dumps({"ok": True, **result}) + "\n"
