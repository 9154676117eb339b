"""Walk the official Python SDK's WebSocket types alongside pmsync's models.

Read from the installed ``polymarket_us`` at test time, so the tests that use
this follow the SDK's next release: a field it adds fails them until pmsync
models it (or excludes it with a reason).
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

import attrs

from pmsync import codec, structure
from pmsync import models as m
from pmsync.enums import WireEnum

ws_types = __import__("polymarket_us.websocket.types", fromlist=["PrivateMessage"])

#: Event kind → the model of its data.
KIND_MODELS: dict[str, type[Any]] = {
    "market_data": m.MarketData, "market_data_lite": m.MarketDataLite, "trade": m.Trade,
    "order_snapshot": m.OrderSnapshot, "order_update": m.OrderUpdate,
    "position_update": m.PositionUpdate, "position_snapshot": m.PositionSnapshot,
    "balance_snapshot": m.BalanceSnapshot, "balance_update": m.BalanceUpdate,
    "rfq_event": m.RfqEvent, "heartbeat": m.Heartbeat,
}
ENVELOPE = {"requestId", "subscriptionType"}

#: SDK fields deliberately without a model field of their own, with the reason.
EXCLUDED: dict[tuple[str, str], str] = {
    ("Heartbeat", "heartbeat"): "always {}: the event kind says it all; any content it gains "
                                "is kept in Heartbeat.extra",
}
#: SDK ``Literal`` fields that pmsync keeps as a plain string, with the reason.
OPEN_STRINGS: dict[tuple[str, str], str] = {
    ("Amount", "currency"): "a currency code: the SDK's only member is 'USD', the API may add others",
}


def messages() -> list[Any]:
    """Every WebSocket message TypedDict of the SDK (both streams)."""
    seen: dict[str, Any] = {}
    for union in (ws_types.PrivateMessage, ws_types.MarketMessage):
        for td in get_args(union):
            seen[td.__name__] = td
    return list(seen.values())


def _strip_none(tp: Any) -> Any:
    if get_origin(tp) in (Union, types.UnionType):
        rest = [a for a in get_args(tp) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
        return Union[tuple(rest)]  # noqa: UP007 - a runtime union of several
    return tp


def _our_options(tp: Any) -> list[Any]:
    tp = _strip_none(tp)
    if get_origin(tp) in (Union, types.UnionType):
        return list(get_args(tp))
    return [tp]


def model_of(tp: Any) -> Any:
    """The attrs class inside ``tp`` (``X | None``), else ``None``."""
    for option in _our_options(tp):
        if isinstance(option, type) and attrs.has(option):
            return option
    return None


def check_type(sdk: Any, ours: Any, where: str, owner: str, key: str) -> Iterator[tuple[Any, Any, str]]:
    """Check one field's type; yield (TypedDict, model, path) pairs to walk further."""
    sdk = _strip_none(sdk)
    options = _our_options(ours)
    origin = get_origin(sdk)
    if is_typeddict(sdk):
        cls = model_of(ours)
        assert cls is not None, f"{where}: the SDK has an object ({sdk.__name__}), pmsync {ours}"
        yield sdk, cls, where
    elif origin is list:
        (item,) = get_args(sdk)
        assert get_origin(ours) is tuple, f"{where}: the SDK has a list, pmsync {ours}"
        yield from check_type(item, get_args(ours)[0], f"{where}[]", owner, key)
    elif origin is dict:
        assert get_origin(ours) is dict, f"{where}: the SDK has a mapping, pmsync {ours}"
        yield from check_type(get_args(sdk)[1], get_args(ours)[1], f"{where}{{}}", owner, key)
    elif origin is Literal:
        enums = [o for o in options if isinstance(o, type) and issubclass(o, WireEnum)]
        if not enums:
            assert (owner, key) in OPEN_STRINGS and str in options, (
                f"{where}: the SDK has a closed set {get_args(sdk)}, pmsync {ours}")
            return
        names = {member.value for member in enums[0]}
        missing = set(get_args(sdk)) - names
        assert not missing, f"{where}: {enums[0].__name__} lacks {sorted(missing)}"
    elif sdk is str:
        assert options[0] in (str, Decimal, datetime) or (
            isinstance(options[0], type) and issubclass(options[0], WireEnum)), (
            f"{where}: the SDK has a string, pmsync {ours}")
    elif sdk is int:
        assert options[0] in (int, Decimal), f"{where}: the SDK has an int, pmsync {ours}"
    elif sdk is float:
        assert options[0] is Decimal, f"{where}: the SDK has a number, pmsync {ours}"
    elif sdk is bool:
        assert options[0] is bool, f"{where}: the SDK has a boolean, pmsync {ours}"
    else:
        raise AssertionError(f"{where}: SDK type {sdk!r} not understood by this test")


def walk(td: Any, cls: Any, path: str) -> Iterator[tuple[Any, str, str]]:
    """Check every field of TypedDict ``td`` against model ``cls``; yield
    (model, field name, path) for each field checked, at every level."""
    attrs.resolve_types(cls)
    fields = attrs.fields_dict(cls)
    for key, tp in get_type_hints(td).items():
        where = f"{path}.{key}"
        if (td.__name__, key) in EXCLUDED:
            continue
        name = codec.to_snake(key)
        assert name in fields and name != "extra", f"{where}: no place in pmsync's {cls.__name__}"
        yield cls, name, where
        for inner_td, inner_cls, inner_path in check_type(tp, fields[name].type, where, td.__name__, key):
            yield from walk(inner_td, inner_cls, inner_path)


def sdk_fields() -> Iterator[tuple[Any, str, str]]:
    """(model, field name, SDK path) for every field of every WebSocket payload of the SDK."""
    for message in messages():
        hints = get_type_hints(message)
        if message is ws_types.WebSocketErrorMessage:
            yield from walk(message, m.ErrorResponse, message.__name__)
            continue
        payload = [k for k in hints if k not in ENVELOPE]
        assert len(payload) == 1, f"{message.__name__}: payload keys {payload}"
        key = payload[0]
        entry = codec._PAYLOADS.get(codec.to_snake(key))
        assert entry is not None, f"{message.__name__}.{key}: a payload pmsync does not decode"
        cls = KIND_MODELS[entry[0]]
        if (message.__name__, key) in EXCLUDED:
            continue
        if cls is m.RfqEvent:
            for variant, variant_tp in get_type_hints(hints[key]).items():
                assert codec.to_snake(variant) in structure.RFQ_VARIANTS, f"RFQ variant {variant}"
                yield from walk(_strip_none(variant_tp), m.RfqEvent, f"{message.__name__}.{key}.{variant}")
            continue
        yield from walk(hints[key], cls, f"{message.__name__}.{key}")
