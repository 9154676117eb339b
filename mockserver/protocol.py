"""Wire protocol of the mock server: request parsing and dialect rendering.

Independent of ``pmsync``: this module reads the protocol (docs/protocol.md and
the reference pages) on its own terms, so the mock checks the client instead of
agreeing with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .exchange import Enum
from .subscription_types import MARKETS, PRIVATE, STREAM_TYPES

__all__ = [
    "DIALECTS",
    "ENDPOINTS",
    "ENUM_NUMBERS",
    "MAX_SLUGS",
    "PAYLOAD_KEYS",
    "ProtocolError",
    "Request",
    "dumps",
    "parse_request",
    "render",
    "subscription_type_name",
]

#: The two JSON spellings the server reads and writes (docs/protocol.md, Two spellings).
DIALECTS = ("snake", "camel")
#: Most market slugs one subscribe request may carry (docs/protocol.md, Requests).
MAX_SLUGS = 100

#: Subscription types per endpoint: wire name → number (``None``: no published number).
ENDPOINTS: dict[str, dict[str, int | None]] = {
    path: {t.name: t.number for t in STREAM_TYPES.values() if t.path == path}
    for path in (PRIVATE, MARKETS)
}


def _numbered(*names: str) -> dict[str, int]:
    return {name: number for number, name in enumerate(names, start=1)}


#: Enum names rendered as numbers in the snake dialect. The reference publishes
#: ``MARKET_STATE_OPEN`` = 1 and ``LEDGER_ENTRY_TYPE_ORDER_EXECUTION`` = 1; the
#: reference pages' snake examples also carry numbers for the order side and
#: type, the order state and the execution type, whose members the
#: mock numbers from 1 in their documented order (the proto convention; 0 is
#: unspecified): ``"side": 1`` is a buy, ``"type": 1`` a limit order. A client
#: keeps a number it does not know as the raw integer. Other enums go by name.
ENUM_NUMBERS: dict[str, int] = {
    "MARKET_STATE_OPEN": 1,
    "LEDGER_ENTRY_TYPE_ORDER_EXECUTION": 1,
    **_numbered("ORDER_SIDE_BUY", "ORDER_SIDE_SELL"),
    **_numbered("ORDER_TYPE_LIMIT", "ORDER_TYPE_MARKET"),
    **_numbered(
        "ORDER_STATE_NEW", "ORDER_STATE_PENDING_NEW", "ORDER_STATE_PENDING_REPLACE",
        "ORDER_STATE_PENDING_CANCEL", "ORDER_STATE_PENDING_RISK", "ORDER_STATE_PARTIALLY_FILLED",
        "ORDER_STATE_FILLED", "ORDER_STATE_CANCELED", "ORDER_STATE_REPLACED",
        "ORDER_STATE_REJECTED", "ORDER_STATE_EXPIRED",
    ),
    **_numbered(
        "EXECUTION_TYPE_NEW", "EXECUTION_TYPE_PARTIAL_FILL", "EXECUTION_TYPE_FILL",
        "EXECUTION_TYPE_CANCELED", "EXECUTION_TYPE_REPLACE", "EXECUTION_TYPE_REJECTED",
        "EXECUTION_TYPE_EXPIRED", "EXECUTION_TYPE_DONE_FOR_DAY",
    ),
}

def _payload_keys() -> dict[str, tuple[frozenset[str], str]]:
    out: dict[str, tuple[frozenset[str], str]] = {}
    for t in STREAM_TYPES.values():
        for kind, key in t.updates.items():
            types, known = out.get(kind, (frozenset(), key))
            if known != key:
                raise ValueError(f"{kind} is sent as {known!r} and as {key!r}")
            out[kind] = (types | {t.name}, key)
    return out


#: Exchange event kind → (subscription types that receive it, payload key).
PAYLOAD_KEYS: dict[str, tuple[frozenset[str], str]] = _payload_keys()

_TOP_LEVEL = ("subscribe", "unsubscribe")


class ProtocolError(Exception):
    """A client request the server answers with an error response."""

    def __init__(self, message: str, request_id: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True)
class Request:
    """A parsed client request."""

    action: str  # "subscribe" | "unsubscribe"
    request_id: str
    subscription_type: str | None = None  # wire name
    market_slugs: tuple[str, ...] = ()
    responses_debounced: bool = False


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _pick(obj: dict[str, Any], snake: str) -> Any:
    camel = _camel(snake)
    if snake in obj:
        return obj[snake]
    return obj.get(camel)


def subscription_type_name(endpoint: str, value: Any) -> str:
    """Map a subscription type (number or name) to its name on ``endpoint``; ``ProtocolError`` if unknown."""
    table = ENDPOINTS[endpoint]
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ProtocolError(f"subscription type must be a number or a name, got {json.dumps(value)}")
    if isinstance(value, str):
        if value in table:
            return value
        raise ProtocolError(f"unknown subscription type {value!r} for {endpoint}")
    for name, number in table.items():
        if number == value:
            return name
    raise ProtocolError(f"unknown subscription type {value} for {endpoint}")


def parse_request(text: str, endpoint: str, known_slugs: frozenset[str]) -> Request:
    """Parse one client frame; raise :class:`ProtocolError` with a specific message."""
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise ProtocolError(f"malformed JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(f"request must be a JSON object, got {type(obj).__name__}")
    unknown = [k for k in obj if k not in _TOP_LEVEL]
    inner_any = next((obj[k] for k in _TOP_LEVEL if k in obj), None)
    rid_hint = ""
    if isinstance(inner_any, dict):
        rid = _pick(inner_any, "request_id")
        rid_hint = rid if isinstance(rid, str) else ""
    if unknown:
        raise ProtocolError(
            f"unknown top-level key {unknown[0]!r}; expected 'subscribe' or 'unsubscribe'", rid_hint
        )
    actions = [k for k in _TOP_LEVEL if k in obj]
    if len(actions) != 1:
        raise ProtocolError("request must have exactly one of 'subscribe' or 'unsubscribe'", rid_hint)
    action = actions[0]
    inner = obj[action]
    if not isinstance(inner, dict):
        raise ProtocolError(f"{action!r} must be a JSON object")
    rid = _pick(inner, "request_id")
    if rid is None or rid == "":
        raise ProtocolError("missing request id")
    if not isinstance(rid, str):
        raise ProtocolError(f"request id must be a string, got {json.dumps(rid)}")
    if action == "unsubscribe":
        return Request("unsubscribe", rid)
    raw_type = _pick(inner, "subscription_type")
    if raw_type is None:
        raise ProtocolError("missing subscription type", rid)
    try:
        sub_type = subscription_type_name(endpoint, raw_type)
    except ProtocolError as exc:
        raise ProtocolError(exc.message, rid) from None
    slugs_raw = _pick(inner, "market_slugs")
    if slugs_raw is None:
        slugs_raw = []
    if not isinstance(slugs_raw, list) or not all(isinstance(s, str) for s in slugs_raw):
        raise ProtocolError("market slugs must be a list of strings", rid)
    if STREAM_TYPES[sub_type].slugs_required and not slugs_raw:
        raise ProtocolError("market slugs required: a markets subscription needs at least one slug", rid)
    if len(slugs_raw) > MAX_SLUGS:
        raise ProtocolError(
            f"too many market slugs: {len(slugs_raw)} (at most {MAX_SLUGS} per subscription)", rid
        )
    for slug in slugs_raw:
        if slug not in known_slugs:
            raise ProtocolError(f"unknown market slug {slug!r}", rid)
    debounced = _pick(inner, "responses_debounced")
    return Request(
        "subscribe", rid, sub_type, tuple(dict.fromkeys(slugs_raw)), debounced is True
    )


# ------------------------------------------------------------------ rendering


def _write(value: Any, out: list[str], camel: bool, endpoint: str, key: str) -> None:
    if isinstance(value, Enum):
        if not camel:
            if key == "subscription_type":
                number = ENDPOINTS[endpoint].get(str(value))
                if number is not None:
                    out.append(str(number))
                    return
            elif str(value) in ENUM_NUMBERS:
                out.append(str(ENUM_NUMBERS[str(value)]))
                return
        out.append(json.dumps(str(value)))
    elif isinstance(value, str):
        out.append(json.dumps(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, Decimal):
        out.append(format(value, "f"))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for k, v in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(json.dumps(_camel(k) if camel else k))
            out.append(":")
            _write(v, out, camel, endpoint, k)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out, camel, endpoint, key)
        out.append("]")
    else:
        raise TypeError(f"cannot render {type(value).__name__} to JSON")


def render(message: dict[str, Any], dialect: str, endpoint: str) -> str:
    """Render a neutral message to compact JSON text in ``dialect`` for ``endpoint``."""
    out: list[str] = []
    _write(message, out, dialect == "camel", endpoint, "")
    return "".join(out)


def dumps(message: dict[str, Any]) -> str:
    """Render a neutral message in the snake dialect (no endpoint-specific enums)."""
    return render(message, "snake", "/v1/ws/private")
