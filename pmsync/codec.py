"""Text ⇄ typed messages, in both JSON dialects (docs/protocol.md). No I/O.

:func:`decode` turns one frame into an :class:`Event`; it reads the snake and
camel dialects and any mix of them, and the legacy payload spellings. It raises
:class:`~pmsync.errors.DecodeError` and nothing else.
:func:`encode_subscribe` and :func:`encode_unsubscribe` build requests.

``orjson`` is used to parse when installed (the ``fast`` extra); results are the
same as with :mod:`json`. This module reads the envelope and picks the payload's
structuring function from :data:`_PAYLOADS`; the functions themselves are in
:mod:`pmsync.structure` (generated per model) and :mod:`pmsync.marketdata`.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import attrs

from . import models as m
from . import structure as s
from .enums import (
    MarketSubscriptionType,
    PrivateSubscriptionType,
    SubscriptionType,
    WireEnum,
)
from .errors import DecodeError
from . import marketdata as _marketdata
from .marketdata import market_data
from .extra import EMPTY, Extra, extra_field
from .structure import converter as converter
from .structure import to_snake as to_snake

# Imported by name so that mypy is clean with and without orjson installed.
_orjson_module: Any
try:  # pragma: no cover - depends on the environment
    _orjson_module = importlib.import_module("orjson")
except ImportError:  # pragma: no cover
    _orjson_module = None

#: The orjson module while it is the parser in use, else None (tests patch this).
_orjson: Any = _orjson_module

__all__ = [
    "BACKEND",
    "Dialect",
    "Event",
    "KINDS",
    "clear_caches",
    "converter",
    "decode",
    "encode_subscribe",
    "encode_unsubscribe",
    "to_plain",
    "to_snake",
    "use_backend",
]

#: The dialect of outgoing requests.
Dialect = Literal["snake", "camel"]

#: The JSON parser in use: ``"orjson"`` or ``"json"`` (see :func:`use_backend`).
BACKEND = "orjson" if _orjson is not None else "json"


def use_backend(name: str) -> str:
    """Choose the JSON parser of :func:`decode`: ``"orjson"`` or ``"json"``.

    Both give the same events; ``"json"`` forces the standard library (to compare,
    or to test the path taken when ``orjson`` is not installed). Returns the
    previous choice. The environment variable ``PMSYNC_JSON=json`` does the same
    at import time. Raises ``ValueError`` for another name or for ``"orjson"``
    when it is not installed.
    """
    global _orjson, BACKEND
    if name not in ("orjson", "json"):
        raise ValueError(f"backend must be 'orjson' or 'json', got {name!r}")
    if name == "orjson" and _orjson_module is None:
        raise ValueError("orjson is not installed (pip install 'pmsync[fast]')")
    previous = "orjson" if _orjson is not None else "json"
    _orjson = _orjson_module if name == "orjson" else None
    BACKEND = name
    return previous


if os.environ.get("PMSYNC_JSON", "").strip().lower() == "json":  # pragma: no cover
    use_backend("json")




@attrs.frozen(slots=True)
class Event:
    """One decoded frame.

    ``kind`` names the payload (see :data:`KINDS`); ``data`` is its typed model
    (the plain dict for ``"unknown"``); ``raw`` is the frame's text; ``resync``
    is set by the client on snapshots that follow a reconnect; ``extra`` keeps
    the frame's top-level keys that are neither the envelope nor the payload.
    """

    kind: str
    request_id: str | None
    subscription_type: SubscriptionType | int | str | None
    data: Any
    raw: str = attrs.field(repr=False, eq=False)
    resync: bool = False
    extra: Extra = extra_field()


# --------------------------------------------------------------------------
# Payloads: payload key (snake spelling) → (event kind, structuring function).
# Both spellings of each key are looked up (_PAYLOAD_KEYS); the legacy keys are
# the spellings seen in the official SDK's dispatcher.

_Hook = Callable[[Any, Any], Any]


def _model(cls: type[Any]) -> _Hook:
    """The structuring function of a payload model: the generated one, or for
    MarketData its fast path (pmsync.marketdata)."""
    return market_data if cls is m.MarketData else s.hook(cls)


_POSITION_UPDATE = s.with_legacy_position(_model(m.PositionUpdate))
_BALANCE_SNAPSHOT = s.with_legacy_balance(_model(m.BalanceSnapshot))
_BALANCE_UPDATE = s.with_legacy_balance(_model(m.BalanceUpdate))

_PAYLOADS: dict[str, tuple[str, _Hook]] = {
    "market_data": ("market_data", _model(m.MarketData)),
    "market_data_lite": ("market_data_lite", _model(m.MarketDataLite)),
    "trade": ("trade", _model(m.Trade)),
    "order_subscription_snapshot": ("order_snapshot", _model(m.OrderSnapshot)),
    "order_subscription_update": ("order_update", _model(m.OrderUpdate)),
    "position_subscription": ("position_update", _POSITION_UPDATE),
    "account_balances_snapshot": ("balance_snapshot", _BALANCE_SNAPSHOT),
    "account_balances_update": ("balance_update", _BALANCE_UPDATE),
    "rfq_event": ("rfq_event", s.rfq_event),
    "heartbeat": ("heartbeat", s.heartbeat),
    # Legacy spellings.
    "orders_snapshot": ("order_snapshot", _model(m.OrderSnapshot)),
    "order_update": ("order_update", _model(m.OrderUpdate)),
    "position_subscription_snapshot": ("position_snapshot", _model(m.PositionSnapshot)),
    "positions_snapshot": ("position_snapshot", _model(m.PositionSnapshot)),
    "position_subscription_update": ("position_update", _POSITION_UPDATE),
    "position_update": ("position_update", _POSITION_UPDATE),
    "account_balance_subscription_snapshot": ("balance_snapshot", _BALANCE_SNAPSHOT),
    "account_balance_subscription_update": ("balance_update", _BALANCE_UPDATE),
    "account_balance_update": ("balance_update", _BALANCE_UPDATE),
}
_PAYLOAD_KEYS: dict[str, tuple[str, _Hook]] = {
    spelling: entry for key, entry in _PAYLOADS.items() for spelling in (key, s.to_camel(key))
}

#: Every event kind :func:`decode` produces.
KINDS = frozenset(kind for kind, _ in _PAYLOADS.values()) | {"error", "unknown"}

_REQUEST_ID_KEYS = ("request_id", "requestId")
_SUBSCRIPTION_TYPE_KEYS = ("subscription_type", "subscriptionType")
_ENVELOPE = frozenset(_REQUEST_ID_KEYS + _SUBSCRIPTION_TYPE_KEYS)
_ERROR_KEYS = _ENVELOPE | {"error"}

#: Subscription type enum per endpoint.
_SUB_ENUMS: dict[str, type[PrivateSubscriptionType] | type[MarketSubscriptionType]] = {
    "private": PrivateSubscriptionType,
    "markets": MarketSubscriptionType,
}


# --------------------------------------------------------------------------
# JSON


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_json_loads = json.JSONDecoder(parse_constant=_reject_constant).decode

# orjson reads an integer beyond the 64-bit range as a binary float (losing
# digits of a quantity); json reads it exactly. A frame with a run of 19 digits
# or more anywhere goes to json, so both back ends give the same events. The
# check maps every digit to "0" and everything else to " " (bytes.translate, in
# C) and looks for 19 zeros.
_DIGIT_MAP = bytes(0x30 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_LONG_RUN = b"0" * 19


def _text(frame: str | bytes) -> str:
    """The frame as text; :class:`DecodeError` if it is not UTF-8."""
    if isinstance(frame, str):
        return frame
    try:
        return (frame if type(frame) is bytes else bytes(frame)).decode("utf-8")
    except (UnicodeDecodeError, TypeError) as exc:
        raise DecodeError(f"frame is not valid UTF-8: {exc}", _raw(frame)) from None


def _parse(frame: str | bytes, text: str) -> Any:
    """The parsed JSON of a frame: orjson when in use and exact, else json."""
    if _orjson is not None:
        utf8 = frame if type(frame) is bytes else text.encode("utf-8", "surrogatepass")
        try:
            parsed = _orjson.loads(utf8)
        except _orjson.JSONDecodeError:
            pass  # json decides, so both back ends accept the same inputs
        else:
            if _LONG_RUN not in utf8.translate(_DIGIT_MAP):
                return parsed
    try:
        return _json_loads(text)
    except RecursionError:
        raise DecodeError("invalid JSON: nested too deeply", text) from None
    except ValueError as exc:
        raise DecodeError(f"invalid JSON: {exc}", text) from None


# --------------------------------------------------------------------------
# decode


def decode(text: str | bytes, endpoint: str) -> Event:
    """Decode one frame received on ``endpoint`` (``"private"`` or ``"markets"``).

    Returns an :class:`Event`; raises :class:`DecodeError` (and nothing else) for
    bad UTF-8, invalid JSON, a non-object, or a known payload whose content
    cannot be structured. A well-formed object with no known payload key is an
    ``"unknown"`` event, not an error.
    """
    frame, text = text, _text(text)
    sub_enum = _SUB_ENUMS.get(endpoint)
    if sub_enum is None:
        raise DecodeError(f"unknown endpoint {endpoint!r}", text)
    obj = _parse(frame, text)
    if type(obj) is not dict:
        raise DecodeError(f"not a JSON object but {_json_type(obj)}", text)
    try:
        request_id = _either(obj, "request_id", "requestId")
        if request_id is not None and type(request_id) is not str:
            request_id = s.string(request_id)
        sub_type = _either(obj, "subscription_type", "subscriptionType")
        if sub_type is not None:
            sub_type = sub_enum.from_wire(sub_type)
        if "error" in obj:
            return _error_event(obj, request_id, sub_type, text)
        for key, content in obj.items():
            entry = _PAYLOAD_KEYS.get(key)
            if entry is not None:
                data = entry[1]({} if content is None else content, None)
                known = 1 + (request_id is not None) + (sub_type is not None)
                extra = s.unknown(obj, _ENVELOPE | {key}) if len(obj) > known else EMPTY
                return _event(entry[0], request_id, sub_type, data, text, extra)
    except Exception as exc:  # noqa: BLE001 - the contract: only DecodeError escapes
        raise DecodeError(f"cannot structure {_payload_name(obj)}: {exc}", text) from None
    return Event("unknown", request_id, sub_type, obj, text)


(_set_kind, _set_request_id, _set_sub_type, _set_data, _set_raw, _set_resync,
 _set_extra) = (Event.__dict__[f.name].__set__ for f in attrs.fields(Event))


def _event(kind: str, request_id: Any, sub_type: Any, data: Any, raw: str, extra: Extra) -> Event:
    """``Event(kind, request_id, sub_type, data, raw, extra=extra)``: the same
    object, without the keyword call and ``extra``'s converter."""
    event = object.__new__(Event)
    _set_kind(event, kind)
    _set_request_id(event, request_id)
    _set_sub_type(event, sub_type)
    _set_data(event, data)
    _set_raw(event, raw)
    _set_resync(event, False)
    _set_extra(event, extra)
    return event


def _either(obj: dict[str, Any], snake: str, camel: str) -> Any:
    value = obj.get(snake)
    return obj.get(camel) if value is None else value


def _error_event(obj: dict[str, Any], request_id: Any, sub_type: Any, text: str) -> Event:
    error = obj["error"]
    if not isinstance(error, str):
        error = json.dumps(error)
    data = m.ErrorResponse(error=error, request_id=request_id, subscription_type=sub_type,
                           extra=s.unknown(obj, _ERROR_KEYS))
    return Event("error", request_id, sub_type, data, text)


def _payload_name(obj: dict[str, Any]) -> str:
    for key in obj:
        if key not in _ENVELOPE:
            return repr(key)
    return "message"


def _json_type(obj: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(obj), "a number"
    )


def _raw(value: Any) -> str | bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return repr(value)


# --------------------------------------------------------------------------
# plain data (for printing and recording; not the wire format)


def to_plain(value: Any) -> Any:
    """A JSON-ready copy of an event or model: decimals as strings, times in
    RFC 3339, enums by name, models as dicts without ``None`` fields, each with
    its ``extra`` fields (those this version does not model) merged in."""
    if isinstance(value, Event):
        plain = {
            "kind": value.kind,
            "request_id": value.request_id,
            "subscription_type": to_plain(value.subscription_type),
            "resync": value.resync,
            "data": to_plain(value.data),
        }
        if value.extra:
            plain["extra"] = to_plain(value.extra)
        return plain
    if attrs.has(type(value)):
        out = {}
        extra: Any = ()
        for field in attrs.fields(type(value)):
            item = getattr(value, field.name)
            if field.name == "extra" and isinstance(item, Extra):
                extra = item
                continue
            if item is None or item == () or item == {}:
                continue
            out[field.name] = to_plain(item)
        for key in extra:  # the unmodelled fields, beside the modelled ones
            if key not in out:
                out[key] = to_plain(extra[key])
        return out
    if isinstance(value, WireEnum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, (dict, Extra)):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


# --------------------------------------------------------------------------
# encode


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _sub_type_wire(subscription_type: Any, dialect: str) -> int | str:
    if isinstance(subscription_type, WireEnum):
        return subscription_type.wire(dialect)
    raise TypeError(
        f"subscription_type must be a PrivateSubscriptionType or MarketSubscriptionType, "
        f"got {subscription_type!r}"
    )


def _check_dialect(dialect: str) -> None:
    if dialect not in ("snake", "camel"):
        raise ValueError(f"dialect must be 'snake' or 'camel', got {dialect!r}")


def encode_subscribe(
    request_id: str,
    subscription_type: SubscriptionType,
    market_slugs: Iterable[str] | None = None,
    *,
    dialect: str = "snake",
    debounced: bool = False,
) -> str:
    """A subscribe request (docs/protocol.md, Requests) in ``dialect``.

    Snake: numbers for the subscription type where one is known (RFQ goes by
    name). Camel: names. Empty or absent ``market_slugs`` are left out.
    """
    _check_dialect(dialect)
    slugs = list(market_slugs) if market_slugs is not None else []
    if dialect == "snake":
        body: dict[str, Any] = {
            "request_id": request_id,
            "subscription_type": _sub_type_wire(subscription_type, dialect),
        }
        if slugs:
            body["market_slugs"] = slugs
        if debounced:
            body["responses_debounced"] = True
    else:
        body = {
            "requestId": request_id,
            "subscriptionType": _sub_type_wire(subscription_type, dialect),
        }
        if slugs:
            body["marketSlugs"] = slugs
        if debounced:
            body["responsesDebounced"] = True
    return _dumps({"subscribe": body})


def encode_unsubscribe(request_id: str, *, dialect: str = "snake") -> str:
    """An unsubscribe request in ``dialect``."""
    _check_dialect(dialect)
    key = "request_id" if dialect == "snake" else "requestId"
    return _dumps({"unsubscribe": {key: request_id}})


def clear_caches() -> None:
    """Empty the codec's bounded memo tables (decimals, amounts, book levels, stats).

    Each holds at most a few thousand immutable values and empties itself when
    full; a memory measurement clears them first, so that how full they happen
    to be is not counted as growth.
    """
    s.DECIMAL_CACHE.clear()
    s.AMOUNT_CACHE.clear()
    _marketdata.LEVEL_CACHE.clear()
    _marketdata.STATS_CACHE.clear()
