"""Property tests of the decoder (issue 2 acceptance): on arbitrary text, bytes
and JSON, and on the documented messages mutated at any depth, ``decode`` returns
an ``Event`` or raises ``DecodeError`` -- nothing else ever escapes.

The Hypothesis profile "ci" (tests/conftest.py) derandomizes every run.
"""

from __future__ import annotations

import copy
import json
import math
import string
from decimal import Decimal
from typing import Any, Callable

import attrs
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from pmsync import DecodeError
from pmsync import codec, structure
from pmsync import models as m
from pmsync.codec import KINDS, Event, decode

from .test_codec_examples import CAMEL_EXAMPLES, ENDPOINTS, parsed_examples, snake_text

Path = tuple[Any, ...]
ENDPOINT = st.sampled_from(["private", "markets"])


# ---------------------------------------------------------------- the property


def check(text: str | bytes, endpoint: str) -> Event | None:
    """decode() returns a well-formed Event or raises DecodeError; nothing else."""
    try:
        event = decode(text, endpoint)
    except DecodeError as exc:
        assert isinstance(exc.reason, str) and exc.reason
        assert isinstance(exc.raw, str)
        assert len(exc.raw) <= 1024
        assert isinstance(str(exc), str)
        return None
    assert isinstance(event, Event)
    assert event.kind in KINDS
    assert event.request_id is None or isinstance(event.request_id, str)
    assert event.resync is False
    if event.kind == "unknown":
        assert isinstance(event.data, dict)
    else:
        assert attrs.has(type(event.data))
    return event


# ---------------------------------------------------------------- strategies

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities dump to invalid JSON: a DecodeError
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
finite_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _model_keys() -> list[str]:
    names: set[str] = {"value", "currency", "request_id", "subscription_type", "error"}
    for obj in vars(m).values():
        if isinstance(obj, type) and attrs.has(obj):
            names.update(f.name for f in attrs.fields(obj))
    names.update(codec._PAYLOADS)
    names.update(structure.RFQ_VARIANTS)
    return sorted(names | {_camel(n) for n in names})


#: Every key the decoder knows, in both spellings: fuzzing with them reaches
#: the structuring code instead of stopping at "unknown".
KNOWN_KEYS = _model_keys()
ENUM_LIKE = st.sampled_from(
    ["MARKET_STATE_OPEN", "ORDER_SIDE_BUY", "SUBSCRIPTION_TYPE_TRADE", "SUBSCRIPTION_TYPE_ORDER",
     "LEDGER_ENTRY_TYPE_ORDER_EXECUTION", "USD", "0.5", "2024-01-15T10:30:00Z"]
)
wire_scalars = scalars | ENUM_LIKE | st.sampled_from([0, 1, 2, 3, 4, 7, 0.5, "1e400", ""])
wire_values = st.recursive(
    wire_scalars,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=4), children, max_size=5),
    max_leaves=16,
)
PAYLOAD_KEYS = sorted(codec._PAYLOAD_KEYS)
wire_dicts = st.dictionaries(
    st.sampled_from(KNOWN_KEYS) | st.text(max_size=4), wire_values, max_size=5
)


@st.composite
def payload_objects(draw: st.DrawFn) -> dict[str, Any]:
    """An envelope with one known payload key whose body is fuzzed with known field names."""
    obj: dict[str, Any] = {}
    if draw(st.booleans()):
        obj[draw(st.sampled_from(["request_id", "requestId"]))] = draw(
            st.text(max_size=6) | wire_scalars
        )
    if draw(st.booleans()):
        obj[draw(st.sampled_from(["subscription_type", "subscriptionType"]))] = draw(wire_scalars)
    obj[draw(st.sampled_from(PAYLOAD_KEYS))] = draw(wire_dicts | wire_values)
    return obj


wire_objects = payload_objects() | wire_dicts

# The documented examples in both dialects, plus legacy spellings and RFQ events,
# as mutation seeds.
EXTRA_SEEDS: list[tuple[Any, str]] = [
    ({"requestId": "pos-1", "positionsSnapshot": {"positions": {
        "market-slug-1": {"netPositionDecimal": "1.5", "cost": {"value": "1", "currency": "USD"},
                          "expired": False, "updateTime": "2024-01-15T10:30:00Z"}}}}, "private"),
    ({"request_id": "o-1", "orders_snapshot": {"orders": [{"id": "o", "quantity": 1}],
                                               "eof": False}}, "private"),
    ({"requestId": "rfq-1", "subscriptionType": "SUBSCRIPTION_TYPE_RFQ", "rfqEvent": {
        "rfqTrade": {"trade": {"tradeId": "t", "symbol": "s", "price": "0.555",
                               "qtyDecimal": "10", "aggressorSide": "SIDE_BUY",
                               "executedTime": "2026-10-01T12:34:56.123456789Z"},
                     "extraThing": [1]}}}, "private"),
    ({"request_id": "rfq-1", "rfq_event": {"quote_executed": {
        "quote": {"id": "q", "symbol": "s", "status": "QUOTE_STATUS_OPEN", "tick_size": 0.01},
        "order_id": "o", "executed_time": "2024-01-15T10:30:00Z"}}}, "private"),
    ({"requestId": "o-1", "orderSubscriptionUpdate": {"execution": {
        "aggressor": True, "transactTime": "2024-01-15T10:30:00Z",
        "order": {"marketMetadata": {"slug": "s", "team": {"a": 1}}, "goodTillTime": None,
                  "commissionsBasisPoints": "12.5", "cumQuantity": 0.25}}}}, "private"),
    ({"accountBalancesSnapshot": {"balances": [{"currentBalance": 1, "pendingWithdrawals": [
        {"id": "w", "balance": 2.5, "acknowledged": False,
         "creationTime": "2024-01-15T10:30:00Z"}]}]}}, "private"),
    ({"requestId": "t-1", "subscriptionType": 3, "error": "bad"}, "markets"),
]
DOCUMENTED: list[tuple[Any, str]] = parsed_examples()
SEEDS: list[tuple[Any, str]] = DOCUMENTED + EXTRA_SEEDS


def paths(obj: Any, prefix: Path = ()) -> list[Path]:
    """Every path into ``obj`` (dict keys and list indexes), the root excluded."""
    out: list[Path] = []
    if isinstance(obj, dict):
        items: Any = obj.items()
    elif isinstance(obj, list):
        items = enumerate(obj)
    else:
        return out
    for key, value in items:
        out.append(prefix + (key,))
        out.extend(paths(value, prefix + (key,)))
    return out


def get(obj: Any, path: Path) -> Any:
    for step in path:
        obj = obj[step]
    return obj


def parent_and_key(obj: Any, path: Path) -> tuple[Any, Any]:
    return get(obj, path[:-1]), path[-1]


ENUM_KEYS = {"subscriptionType", "subscription_type", "state", "side", "intent", "type", "tif",
             "entryType", "entry_type"}


def enum_paths(obj: Any) -> list[Path]:
    return [p for p in paths(obj) if p[-1] in ENUM_KEYS and not isinstance(get(obj, p), dict)]


def number_paths(obj: Any) -> list[Path]:
    return [p for p in paths(obj)
            if isinstance(get(obj, p), (int, float)) and not isinstance(get(obj, p), bool)]


def string_paths(obj: Any) -> list[Path]:
    return [p for p in paths(obj) if isinstance(get(obj, p), str)]


def dict_paths(obj: Any) -> list[Path]:
    return [()] + [p for p in paths(obj) if isinstance(get(obj, p), dict)]


unknown_key = st.text(string.ascii_letters + "_", min_size=1, max_size=10).map(lambda s: "zz" + s)


# Each mutation draws what it needs and edits ``obj`` in place; it returns
# False when the seed has no place it applies to.
Mutation = Callable[[st.DrawFn, Any], bool]


def drop(draw: st.DrawFn, obj: Any) -> bool:
    ps = paths(obj)
    if not ps:
        return False
    parent, key = parent_and_key(obj, draw(st.sampled_from(ps)))
    del parent[key]
    return True


def add_unknown(draw: st.DrawFn, obj: Any) -> bool:
    target = get(obj, draw(st.sampled_from(dict_paths(obj))))
    target[draw(unknown_key)] = draw(finite_json_values)
    return True


def unknown_enum(draw: st.DrawFn, obj: Any) -> bool:
    ps = enum_paths(obj)
    if not ps:
        return False
    parent, key = parent_and_key(obj, draw(st.sampled_from(ps)))
    parent[key] = draw(
        st.integers(min_value=5, max_value=2**63)
        | st.integers(max_value=-1)
        | st.from_regex(r"[A-Z][A-Z0-9_]{0,40}", fullmatch=True)
    )
    return True


def null(draw: st.DrawFn, obj: Any) -> bool:
    ps = paths(obj)
    if not ps:
        return False
    parent, key = parent_and_key(obj, draw(st.sampled_from(ps)))
    parent[key] = None
    return True


def number_to_string(draw: st.DrawFn, obj: Any) -> bool:
    ps = number_paths(obj)
    if not ps:
        return False
    parent, key = parent_and_key(obj, draw(st.sampled_from(ps)))
    value = parent[key]
    parent[key] = draw(st.sampled_from([str(value), repr(value), f" {value} ", ""]))
    return True


def string_to_number(draw: st.DrawFn, obj: Any) -> bool:
    ps = string_paths(obj)
    if not ps:
        return False
    parent, key = parent_and_key(obj, draw(st.sampled_from(ps)))
    value = parent[key]
    try:
        as_number: Any = json.loads(value)
    except ValueError:
        as_number = None
    parent[key] = draw(
        st.sampled_from([as_number, len(value)])
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
    )
    return True


def wrong_type(draw: st.DrawFn, obj: Any) -> bool:
    ps = paths(obj)
    if not ps:
        return False
    parent, key = parent_and_key(obj, draw(st.sampled_from(ps)))
    parent[key] = draw(
        st.sampled_from([[], {}, [parent[key]], {"value": parent[key]}, True, False, 0, ""])
        | wire_values
    )
    return True


def rename(draw: st.DrawFn, obj: Any) -> bool:
    """Respell a key in the other dialect: a mix of dialects must still decode."""
    ps = [p for p in paths(obj) if isinstance(p[-1], str)]
    if not ps:
        return False
    parent, key = parent_and_key(obj, draw(st.sampled_from(ps)))
    other = _camel(key) if "_" in key else codec.to_snake(key)
    if other != key and other not in parent:
        parent[other] = parent.pop(key)
    return True


ALL_MUTATIONS: dict[str, Mutation] = {
    "drop": drop,
    "add_unknown": add_unknown,
    "unknown_enum": unknown_enum,
    "null": null,
    "number_to_string": number_to_string,
    "string_to_number": string_to_number,
    "wrong_type": wrong_type,
    "rename": rename,
}


@st.composite
def mutated(
    draw: st.DrawFn,
    mutations: tuple[Mutation, ...],
    seeds: list[tuple[Any, str]] = SEEDS,
    max_steps: int = 3,
) -> tuple[Any, Any, str]:
    """(original, mutated copy, endpoint) of a seed message."""
    original, endpoint = draw(st.sampled_from(seeds))
    obj = copy.deepcopy(original)
    applied = 0
    for _ in range(draw(st.integers(1, max_steps))):
        if draw(st.sampled_from(mutations))(draw, obj):
            applied += 1
    assume(applied)
    return original, obj, endpoint


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


# ---------------------------------------------------------------- arbitrary input


@settings(max_examples=400)
@given(st.text(), ENDPOINT)
@example("", "private")
@example("{}", "markets")
@example("[" * 5000, "private")
@example('{"heartbeat":{}}\x00', "private")
def test_arbitrary_text(text: str, endpoint: str) -> None:
    check(text, endpoint)


@settings(max_examples=200)
@given(st.binary(), ENDPOINT)
@example(b"\xff", "private")
@example(b'{"heartbeat":{}}', "markets")
@example('{"a":"\ud800"}'.encode("utf-8", "surrogatepass"), "markets")
def test_arbitrary_bytes(data: bytes, endpoint: str) -> None:
    check(data, endpoint)


@settings(max_examples=300)
@given(json_values, ENDPOINT)
def test_arbitrary_json(value: Any, endpoint: str) -> None:
    check(json.dumps(value), endpoint)


@settings(max_examples=500)
@given(wire_objects, ENDPOINT)
@example({"marketData": {"bids": [{"qty": 1e300}]}}, "markets")
@example({"trade": {"tradeTime": {"seconds": 1e300}}}, "markets")
@example({"trade": {"tradeTime": {"seconds": "x"}}}, "markets")
@example({"marketDataLite": {"bidDepth": "9" * 5000}}, "markets")
@example({"marketDataLite": {"bidDepth": 1e300}}, "markets")
@example({"error": {"a": [float("inf")]}}, "private")
@example({"subscriptionType": 1.5, "heartbeat": {}}, "private")
@example({"requestId": 12, "heartbeat": {}}, "private")
def test_arbitrary_json_with_known_keys(value: dict[str, Any], endpoint: str) -> None:
    check(dumps(value), endpoint)


@settings(max_examples=300)
@given(wire_objects, ENDPOINT)
@example({"marketData": {"bids": [{"qty": 2**64}, {"qty": -(2**63) - 1}]}}, "markets")
@example({"orderSubscriptionSnapshot": {"orders": [{"quantity": 10**30 + 1}]}}, "private")
@example({"trade": {"price": 0.1, "quantity": 1e-7}}, "markets")
def test_both_parsers_agree(value: dict[str, Any], endpoint: str) -> None:
    """With or without orjson, the same frame decodes to the same event."""
    text = dumps(value)
    results: list[tuple[str, object]] = []
    saved = codec._orjson
    for parser in (saved, None):
        codec._orjson = parser
        try:
            results.append(("ok", decode(text, endpoint)))
        except DecodeError as exc:
            results.append(("error", exc.reason.split(":")[0]))
        finally:
            codec._orjson = saved
    assert results[0][0] == results[1][0]
    if results[0][0] == "ok":
        assert results[0] == results[1]


# ---------------------------------------------------------------- mutated messages


@pytest.mark.parametrize("name", sorted(ALL_MUTATIONS))
@settings(max_examples=150)
@given(data=st.data())
def test_mutated_known_messages(name: str, data: st.DataObject) -> None:
    _, obj, endpoint = data.draw(mutated((ALL_MUTATIONS[name],)))
    check(dumps(obj), endpoint)


@settings(max_examples=400)
@given(mutated(tuple(ALL_MUTATIONS.values()), max_steps=6))
def test_many_mutations_at_once(case: tuple[Any, Any, str]) -> None:
    _, obj, endpoint = case
    check(dumps(obj), endpoint)


@settings(max_examples=150)
@given(mutated((add_unknown,), seeds=DOCUMENTED))
def test_unknown_fields_change_nothing_but_extra(case: tuple[Any, Any, str]) -> None:
    """An unknown field lands in an ``extra`` and changes no modelled value."""
    original, obj, endpoint = case
    assert without_extra(decode(dumps(obj), endpoint)) == decode(dumps(original), endpoint)


def without_extra(value: Any) -> Any:
    """``value`` with every model's ``extra`` emptied, at every level."""
    if isinstance(value, tuple):
        return tuple(without_extra(v) for v in value)
    if isinstance(value, dict):
        return {k: without_extra(v) for k, v in value.items()}
    if not attrs.has(type(value)):
        return value
    changes = {f.name: without_extra(getattr(value, f.name)) for f in attrs.fields(type(value))
               if f.init}
    if "extra" in changes:
        changes["extra"] = {}
    return attrs.evolve(value, **changes)


@settings(max_examples=150)
@given(mutated((drop,), seeds=DOCUMENTED))
def test_dropped_fields_still_decode(case: tuple[Any, Any, str]) -> None:
    """Every field is optional on the wire: dropping any never fails."""
    _, obj, endpoint = case
    assert check(dumps(obj), endpoint) is not None


@settings(max_examples=150)
@given(mutated((unknown_enum,), seeds=DOCUMENTED))
def test_unknown_enum_values_still_decode(case: tuple[Any, Any, str]) -> None:
    _, obj, endpoint = case
    assert check(dumps(obj), endpoint) is not None


@settings(max_examples=150)
@given(mutated((null, rename), seeds=DOCUMENTED))
def test_nulled_object_fields_and_mixed_dialects_still_decode(case: tuple[Any, Any, str]) -> None:
    """``null`` for any object field (not a list item) and any respelling decode."""
    original, obj, endpoint = case

    def has_null_in_list(value: Any) -> bool:
        if isinstance(value, list):
            return any(v is None or has_null_in_list(v) for v in value)
        if isinstance(value, dict):
            return any(has_null_in_list(v) for v in value.values())
        return False

    assume(not has_null_in_list(obj))
    assert check(dumps(obj), endpoint) is not None


# ---------------------------------------------------------------- numbers


def _quantity_of(text: str) -> Any:
    return decode(text, "private").data.orders[0].quantity


@settings(max_examples=300)
@given(st.floats(allow_nan=False, allow_infinity=False))
@example(0.1)
@example(0.5)
@example(1000.0)
@example(972.25)
@example(1e-7)
@example(-0.0)
@example(5e-324)
@example(1.7976931348623157e308)
def test_decimal_from_json_float_is_its_shortest_repr(value: float) -> None:
    text = json.dumps({"orderSubscriptionSnapshot": {"orders": [{"quantity": value}]}})
    quantity = _quantity_of(text)
    assert isinstance(quantity, Decimal)
    assert quantity == Decimal(repr(value))
    assert str(quantity) == str(Decimal(repr(value)))
    balance = decode(
        json.dumps({"accountBalancesSnapshot": {"balances": [{"currentBalance": value}]}}),
        "private",
    ).data.balances[0].current_balance
    assert balance == Decimal(repr(value))


@settings(max_examples=200)
@given(st.integers())
@example(2**63)
@example(-(2**63) - 1)
@example(2**64)
@example(10**30 + 1)
def test_decimal_from_json_integer_is_exact(value: int) -> None:
    text = json.dumps({"orderSubscriptionSnapshot": {"orders": [{"quantity": value}]}})
    assert _quantity_of(text) == Decimal(value)


@settings(max_examples=200)
@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_decimal_strings_are_exact(value: Decimal) -> None:
    text = json.dumps({"trade": {"price": {"value": str(value), "currency": "USD"}}})
    price = decode(text, "markets").data.price.value
    assert price == value
    assert str(price) == str(value)


# ---------------------------------------------------------------- raw truncation


@pytest.mark.parametrize(
    "frame",
    [
        '{"marketData":{"bids":"' + "x" * 100_000 + '"}}',
        "[" + "1," * 50_000 + "]",
        "{" + " " * 100_000,
        '{"trade":{"tradeTime":"' + "9" * 100_000 + '"}}',
    ],
    ids=["structure", "array", "invalid", "timestamp"],
)
@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_decode_error_raw_is_at_most_1kib(frame: str, as_bytes: bool) -> None:
    assert len(frame) >= 100_000
    with pytest.raises(DecodeError) as info:
        decode(frame.encode() if as_bytes else frame, "markets")
    assert len(info.value.raw) <= 1024
    assert info.value.raw == frame[:1024]
    assert len(str(info.value)) < 2048


def test_decode_error_raw_for_bad_utf8_is_bounded() -> None:
    frame = b"\xff" * 100_000
    with pytest.raises(DecodeError) as info:
        decode(frame, "private")
    assert len(info.value.raw) <= 1024 * 4
    assert isinstance(info.value.raw, str)


def test_seed_sets_are_what_we_think() -> None:
    assert len(CAMEL_EXAMPLES) == 10
    assert len(DOCUMENTED) == 2 * sum(len(e) for e in ENDPOINTS)
    for obj, endpoint in SEEDS:
        assert check(dumps(obj), endpoint) is not None
    assert math.isfinite(1.0)
    assert snake_text(CAMEL_EXAMPLES[8], "private") == '{"heartbeat": {}}'
