"""The HTTP control API of the mock server (GET only, on the WebSocket port).

The fault routes are built from the server's fault registry
(:data:`mockserver.faults.FAULTS`: ``/control/<kind>``); the inspection routes
are below. Every route answers JSON ``{"ok": true, ...}``; bad parameters get
400 with a specific message, unknown routes 404. ``/control/`` lists every
route with its parameters; ``/control/markets`` answers a plain JSON list of
slugs and ``/control/journal`` answers JSON lines.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from .faults import FaultKind

__all__ = ["INSPECTION", "handle_control", "routes"]

log = logging.getLogger("mockserver.control")

Query = dict[str, list[str]]


def _clear(s: Any, p: dict[str, Any]) -> dict[str, Any]:
    s.clear()
    return {"cleared": True}


def _connections(s: Any, p: dict[str, Any]) -> dict[str, Any]:
    return {"connections": [
        {"id": c.id, "path": c.path, "dialect": c.dialect,
         "subscriptions": {rid: {"subscription_type": t, "market_slugs": list(slugs)}
                           for rid, (t, slugs) in c.subscriptions.items()}}
        for c in s.connections]}


def _handshakes(s: Any, p: dict[str, Any]) -> dict[str, Any]:
    return {"handshakes": [asdict(h) for h in s.handshakes]}


def _journal_info(s: Any, p: dict[str, Any]) -> dict[str, Any]:
    j = s.journal
    return {"entries": len(j), "maxlen": j.maxlen, "total": j.total, "overwritten": j.overwritten}


#: Routes that inspect or reset the server (not faults), in the same shape as fault kinds.
INSPECTION: tuple[FaultKind, ...] = (
    FaultKind("clear", "close connections; reset exchange, faults, journal and handshakes", (), _clear),
    FaultKind("connections", "live connections and their subscriptions", (), _connections),
    FaultKind("handshakes", "the most recent upgrade attempts and their outcome", (), _handshakes),
    FaultKind("journal/info", "size, bound and counters of the frame journal", (), _journal_info),
)

#: Routes whose answer is not ``{"ok": ...}``: route → (help, content type, body of the server).
_RAW: dict[str, tuple[str, str, Callable[[Any], str]]] = {
    "/control/markets": ("the market slugs (a JSON list)", "application/json",
                         lambda s: json.dumps(s.markets) + "\n"),
    "/control/journal": ("the frames the journal holds, as JSON lines", "application/x-ndjson",
                         lambda s: str(s.journal.jsonl())),
}


def routes(server: Any) -> dict[str, FaultKind]:
    """Every ``{"ok": ...}`` route of ``server``: its fault kinds, then the inspection routes."""
    out = {kind.route: kind for kind in server.fault_registry}
    out.update((kind.route, kind) for kind in INSPECTION)
    return out


def _listing(server: Any) -> dict[str, Any]:
    listed = [{"route": route, "help": kind.help, "params": [p.describe() for p in kind.params]}
              for route, kind in routes(server).items()]
    listed += [{"route": route, "help": help_, "params": []} for route, (help_, _, _) in _RAW.items()]
    listed.append({"route": "/health", "help": "status, live connections, uptime", "params": []})
    return {"routes": listed}


def _json(status: int, obj: Any) -> tuple[int, str, str]:
    return status, "application/json", json.dumps(obj) + "\n"


def handle_control(server: Any, path: str, query: Query) -> tuple[int, str, str]:
    """Serve one control request: returns ``(status, content_type, body)``."""
    path = path.rstrip("/") or path
    if path == "/control":
        return _json(200, {"ok": True, **_listing(server)})
    if path in _RAW:
        _, content_type, body = _RAW[path]
        return 200, content_type, body(server)
    table = routes(server)
    kind = table.get(path)
    if kind is None:
        known = ", ".join(sorted([*table, *_RAW]))
        return _json(404, {"ok": False, "error": f"unknown control route {path}; known: {known} "
                                                 "(GET /control/ lists them with their parameters)"})
    try:
        result = kind.apply(server, kind.parse(query))
    except (ValueError, KeyError, LookupError) as exc:  # ParamError is a ValueError
        message = exc.args[0] if exc.args else repr(exc)
        return _json(400, {"ok": False, "error": str(message)})
    log.info("control %s %s", path, {k: v[-1] for k, v in query.items()})
    return _json(200, {"ok": True, **result})

