"""Faults of the mock server: their state, the odd frames, and the registry of fault kinds.

:data:`FAULTS` declares every fault kind once: its name (also its control
route, ``/control/<name>``), its parameters, how it is applied to a server and
its chaos variants. The control API (:mod:`mockserver.control`), the chaos
scheduler (:mod:`mockserver.chaos`) and the CLI help are built from it, so a
new kind is one :class:`FaultKind` entry (``FAULTS.with_kinds(...)`` gives a
registry with extra kinds for one server: ``MockServer(fault_registry=...)``).

:class:`Faults` is the current fault state, guarded by one lock, so tests and
the control API may change faults while clients are connected.
"""

from __future__ import annotations

import http
import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BINARY_FRAME",
    "FAULTS",
    "ChaosDraw",
    "ChaosVariant",
    "FaultKind",
    "FaultRegistry",
    "Faults",
    "Param",
    "ParamError",
    "Rejection",
    "malformed_frame",
    "oversized_frame",
    "unknown_payload_frame",
]

#: The default binary frame: bytes that are neither JSON nor valid UTF-8.
BINARY_FRAME = b"\x00\x01\x02mockserver-binary-frame\xff\xfe"


@dataclass(frozen=True)
class Rejection:
    """How to reject one handshake: HTTP status, optional ``Retry-After``, body."""

    status: int
    retry_after: float | None
    body: str


def _check_status(status: int) -> None:
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        raise ValueError(f"status must be an HTTP status code between 200 and 599, got {status!r}")


class Faults:
    """Current faults: heartbeats, ticker, delay, pending handshake rejections."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.heartbeats_stopped = False
        self.ticker_paused = False
        self.delay = 0.0
        self._rejections: deque[Rejection] = deque()

    def reset(self) -> None:
        """Back to no faults at all (ticker running, heartbeats on, no delay)."""
        with self._lock:
            self.heartbeats_stopped = False
            self.ticker_paused = False
            self.delay = 0.0
            self._rejections.clear()

    def set_delay(self, seconds: float) -> None:
        """Delay every outgoing frame by ``seconds`` (0 disables)."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
            raise ValueError(f"delay must be a number of seconds >= 0, got {seconds!r}")
        if seconds > 3600:
            raise ValueError(f"delay must be at most 3600 s, got {seconds!r}")
        with self._lock:
            self.delay = float(seconds)

    def add_rejections(
        self, count: int, status: int = 503, retry_after: float | None = None, body: str | None = None
    ) -> None:
        """Reject the next ``count`` handshakes with ``status``."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be an integer >= 0, got {count!r}")
        _check_status(status)
        if status == 101:
            raise ValueError("status 101 would accept the handshake")
        if retry_after is not None and (
            isinstance(retry_after, bool) or not isinstance(retry_after, (int, float)) or retry_after < 0
        ):
            raise ValueError(f"retry_after must be a number of seconds >= 0, got {retry_after!r}")
        if body is None:
            try:
                phrase = http.HTTPStatus(status).phrase
            except ValueError:
                phrase = "Error"
            body = f"{status} {phrase}: handshake rejected by mockserver fault injection\n"
        with self._lock:
            self._rejections.extend([Rejection(status, retry_after, body)] * count)

    def take_rejection(self) -> Rejection | None:
        """The rejection for this handshake, if one is pending (consumes it)."""
        with self._lock:
            return self._rejections.popleft() if self._rejections else None

    @property
    def pending_rejections(self) -> int:
        """How many handshakes are still to be rejected."""
        with self._lock:
            return len(self._rejections)


def malformed_frame() -> str:
    """A text frame that is not valid JSON (truncated object)."""
    return '{"request_id": "mockserver-fault", "market_data": {"market_slug": '


def unknown_payload_frame() -> str:
    """Valid JSON with a payload key no client knows (and no request id)."""
    return '{"mockserver_unknown_payload":{"note":"injected unknown payload","n":1}}'


def oversized_frame(size: int) -> str:
    """A valid JSON text frame of exactly ``size`` bytes (padding only)."""
    head, tail = '{"mockserver_padding":"', '"}'
    if isinstance(size, bool) or not isinstance(size, int) or size < len(head) + len(tail):
        raise ValueError(f"size must be an integer >= {len(head) + len(tail)}, got {size!r}")
    if size > 64 * 1024 * 1024:
        raise ValueError(f"size must be at most 64 MiB, got {size}")
    return head + "x" * (size - len(head) - len(tail)) + tail


# ----------------------------------------------------------------- the registry


class ParamError(ValueError):
    """A fault parameter that is missing or malformed (the control API answers 400)."""


@dataclass(frozen=True)
class Param:
    """One parameter of a fault kind: name, type (``str``, ``int`` or ``float``), default, help."""

    name: str
    type: type = str
    default: Any = None
    help: str = ""
    required: bool = False

    def parse(self, raw: str | None) -> Any:
        """The value of a query-string parameter (``None`` or empty: the default)."""
        if raw is None or raw == "":
            if self.required:
                raise ParamError(f"missing parameter {self.name!r}")
            return self.default
        if self.type is int:
            try:
                return int(raw)
            except ValueError:
                raise ParamError(f"parameter {self.name!r} must be an integer, got {raw!r}") from None
        if self.type is float:
            try:
                value = float(raw)
            except ValueError:
                raise ParamError(f"parameter {self.name!r} must be a number, got {raw!r}") from None
            if not math.isfinite(value):
                raise ParamError(f"parameter {self.name!r} must be finite, got {raw!r}")
            return value
        return raw

    def describe(self) -> dict[str, Any]:
        """JSON-ready: name, type, default, required, help."""
        return {"name": self.name, "type": self.type.__name__, "default": self.default,
                "required": self.required, "help": self.help}


@dataclass(frozen=True)
class ChaosDraw:
    """The random draws of one chaos step: target endpoint, stall length, ``Retry-After``."""

    path: str | None
    stall: float
    retry_after: float


@dataclass(frozen=True)
class ChaosVariant:
    """A chaos kind: a fault kind with parameters drawn for one step.

    ``params(draw)`` gives the parameters; ``revert`` names a fault kind applied
    ``draw.stall`` seconds later (with no parameters), e.g. resuming heartbeats.
    """

    name: str
    params: Callable[[ChaosDraw], dict[str, Any]]
    revert: str | None = None
    help: str = ""


Apply = Callable[[Any, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class FaultKind:
    """One fault kind: name (route ``/control/<name>``), help, parameters, how to apply it, chaos variants.

    ``apply(server, params)`` acts on a :class:`~mockserver.MockServer` through
    its public methods and returns the JSON-ready result of the control route.
    """

    name: str
    help: str
    params: tuple[Param, ...]
    apply: Apply
    chaos: tuple[ChaosVariant, ...] = ()

    @property
    def route(self) -> str:
        """The control route, ``/control/<name>``."""
        return "/control/" + self.name

    def parse(self, query: Mapping[str, list[str]]) -> dict[str, Any]:
        """Parameters from a query string (last value wins); ``ParamError`` on unknown or bad ones."""
        allowed = {p.name for p in self.params}
        unknown = sorted(set(query) - allowed)
        if unknown:
            raise ParamError(f"unknown parameter {unknown[0]!r} for {self.route}"
                             + (f"; allowed: {', '.join(sorted(allowed))}" if allowed else "; it takes none"))
        return {p.name: p.parse(query[p.name][-1] if query.get(p.name) else None) for p in self.params}

    def __call__(self, server: Any, **params: Any) -> dict[str, Any]:
        """Apply to ``server`` with ``params`` (the defaults for the others)."""
        values = {p.name: p.default for p in self.params}
        values.update(params)
        return self.apply(server, values)


class FaultRegistry:
    """Fault kinds by name, in declaration order; chaos variants by name."""

    def __init__(self, kinds: Iterable[FaultKind]) -> None:
        self._kinds: dict[str, FaultKind] = {}
        self._chaos: dict[str, tuple[FaultKind, ChaosVariant]] = {}
        for kind in kinds:
            if kind.name in self._kinds:
                raise ValueError(f"fault kind {kind.name!r} declared twice")
            self._kinds[kind.name] = kind
            for variant in kind.chaos:
                if variant.name in self._chaos:
                    raise ValueError(f"chaos kind {variant.name!r} declared twice")
                self._chaos[variant.name] = (kind, variant)
        for _, variant in self._chaos.values():
            if variant.revert is not None and variant.revert not in self._kinds:
                raise ValueError(f"chaos kind {variant.name!r} reverts with unknown kind {variant.revert!r}")

    def with_kinds(self, *kinds: FaultKind) -> FaultRegistry:
        """A new registry: these kinds and the kinds of this one."""
        return FaultRegistry([*self._kinds.values(), *kinds])

    def __getitem__(self, name: str) -> FaultKind:
        return self._kinds[name]

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def __iter__(self) -> Iterator[FaultKind]:
        return iter(list(self._kinds.values()))

    def __len__(self) -> int:
        return len(self._kinds)

    def by_route(self, route: str) -> FaultKind | None:
        """The kind served at ``route`` (``/control/<name>``), if any."""
        return self._kinds.get(route.removeprefix("/control/")) if route.startswith("/control/") else None

    @property
    def chaos_kinds(self) -> tuple[str, ...]:
        """Names of every chaos variant, in declaration order."""
        return tuple(self._chaos)

    def chaos(self, name: str) -> tuple[FaultKind, ChaosVariant]:
        """The fault kind and variant of chaos kind ``name``; ``KeyError`` if unknown."""
        return self._chaos[name]


def _path() -> Param:
    return Param("path", str, None, "private or markets (or the endpoint path): only connections there")


def _events(events: list[Any]) -> dict[str, Any]:
    return {"events": [{"kind": e.kind, "slug": e.slug} for e in events]}


def _then(_: object, **result: Any) -> dict[str, Any]:
    """``result``, once the call in the first argument has been made (for one-line ``apply``)."""
    return result


def _targeted(d: ChaosDraw) -> dict[str, Any]:
    return {"path": d.path}


#: Every fault kind of the mock server (and the exchange injections of the control API).
FAULTS = FaultRegistry([
    FaultKind("drop", "abruptly close connections' TCP sockets (no close frame)", (_path(),),
              lambda s, p: {"dropped": s.drop_connections(p["path"])},
              (ChaosVariant("drop", _targeted, help="abrupt TCP close, no close frame"),)),
    FaultKind("close", "close connections with a close frame", (
        Param("code", int, 1000, "close code"), Param("reason", str, "", "close reason"), _path()),
        lambda s, p: {"closed": s.close_connections(p["code"], p["reason"], p["path"])},
        (ChaosVariant("close_1001", lambda d: {"code": 1001, "reason": "chaos: going away", "path": d.path},
                      help="close frame 1001 (going away)"),
         ChaosVariant("close_1011", lambda d: {"code": 1011, "reason": "chaos: internal error", "path": d.path},
                      help="close frame 1011 (internal error)"))),
    FaultKind("heartbeats/stop", "stop heartbeats (connections stay open and silent)", (),
              lambda s, p: _then(s.stop_heartbeats(), heartbeats="stopped"),
              (ChaosVariant("heartbeat_stall", lambda d: {}, revert="heartbeats/resume",
                            help="heartbeats stop, then resume after a while"),)),
    FaultKind("heartbeats/resume", "send heartbeats again", (),
              lambda s, p: _then(s.resume_heartbeats(), heartbeats="running")),
    FaultKind("reject", "reject the next handshakes", (
        Param("count", int, 1, "how many handshakes"), Param("status", int, 503, "HTTP status"),
        Param("retry_after", float, None, "Retry-After header (seconds)"), Param("body", str, None, "body")),
        lambda s, p: _then(s.reject_handshakes(p["count"], p["status"], p["retry_after"], p["body"]),
                           count=p["count"], status=p["status"], retry_after=p["retry_after"]),
        (ChaosVariant("reject_503", lambda d: {"count": 1, "status": 503, "retry_after": d.retry_after},
                      help="the next handshake gets 503 with Retry-After"),)),
    FaultKind("delay", "delay every outgoing frame (0: off)",
              (Param("seconds", float, None, "delay in seconds", required=True),),
              lambda s, p: _then(s.set_delay(p["seconds"]), delay=p["seconds"])),
    FaultKind("send/malformed", "send one invalid-JSON text frame to each connection", (_path(),),
              lambda s, p: {"sent": s.send_malformed(p["path"])},
              (ChaosVariant("malformed", _targeted, help="one invalid-JSON text frame"),)),
    FaultKind("send/unknown", "send one frame with an unknown payload key to each connection", (_path(),),
              lambda s, p: {"sent": s.send_unknown_payload(p["path"])},
              (ChaosVariant("unknown", _targeted, help="one frame with an unknown payload key"),)),
    FaultKind("send/binary", "send one binary frame to each connection", (_path(),),
              lambda s, p: {"sent": s.send_binary(p["path"])}),
    FaultKind("send/oversized", "send one valid JSON text frame of `size` bytes to each connection",
              (_path(), Param("size", int, 2_000_000, "frame size in bytes")),
              lambda s, p: {"sent": s.send_oversized(p["size"], p["path"])}),
    FaultKind("ticker/pause", "stop the exchange ticker (drive it with /control/tick)", (),
              lambda s, p: _then(s.pause_ticker(), ticker="paused")),
    FaultKind("ticker/resume", "let the exchange ticker step again", (),
              lambda s, p: _then(s.resume_ticker(), ticker="running")),
    FaultKind("tick", "one exchange step now", (), lambda s, p: _events(s.tick())),
    FaultKind("inject/trade", "a market trade print now", (Param("slug", str, None, "market (default: random)"),),
              lambda s, p: _events(s.inject_trade(p["slug"]))),
    FaultKind("inject/fill", "fill (part of) an open demo order now",
              (Param("order_id", str, None, "order (default: random)"),),
              lambda s, p: _events(s.inject_fill(p["order_id"]))),
    FaultKind("inject/balance", "change the demo account's cash now", (
        Param("amount", str, "10.00", "decimal amount (negative: withdrawal)"),
        Param("description", str, "Deposit", "ledger description")),
        lambda s, p: _events(s.inject_balance_change(p["amount"], p["description"]))),
    FaultKind("inject/market_state", "set a market's state now", (
        Param("slug", str, None, "market", required=True),
        Param("state", str, None, "MARKET_STATE_...", required=True)),
        lambda s, p: _events(s.inject_market_state(p["slug"], p["state"]))),
    FaultKind("inject/rfq", "one RFQ event now", (Param("slug", str, None, "market (default: random)"),),
              lambda s, p: _events(s.inject_rfq(p["slug"]))),
])
