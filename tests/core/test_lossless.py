"""Lossless models (issue 13): every field of the official SDKs has a place,
every field the server sends (known or not) reaches ``to_plain``, legacy shapes
decode to their values, and the mock sends the whole field set."""

from __future__ import annotations

import json
import types
from datetime import datetime
from decimal import Decimal
from typing import Any, Union, get_args, get_origin

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pmsync import codec, structure
from pmsync import models as m
from pmsync.codec import decode, to_plain, to_snake
from pmsync.enums import MarketSubscriptionType, OrderSide, PrivateSubscriptionType, WireEnum

from .sdk_fields import KIND_MODELS, sdk_fields

# ------------------------------------------------------------------ the SDK's fields


def test_every_field_of_the_python_sdk_has_a_place_in_the_models() -> None:
    """Walks polymarket_us/websocket/types.py and polymarket_us/types/*.py as
    installed; see tests/core/sdk_fields.py for the exclusions and their reasons."""
    seen = list(sdk_fields())
    assert len(seen) > 300  # the walk reached the nested types
    reached = {cls for cls, _, _ in seen}
    assert set(KIND_MODELS.values()) - {m.Heartbeat} <= reached
    for cls in (m.Quote, m.Rfq, m.RfqComboLeg, m.RfqTrade, m.ComboLegDetail, m.Team, m.Subject):
        assert cls in reached, cls


# --------------------------------------------------------------- legacy shapes
# The TypeScript SDK (polymarket-us 0.1.1 on npm, index.d.ts) still types the
# older payloads: positionSubscriptionUpdate {marketSlug, position} and
# accountBalanceSubscription{Snapshot,Update} {balance, buyingPower}.


def test_legacy_balance_snapshot_yields_its_balance() -> None:
    for key in ("accountBalanceSubscriptionSnapshot", "account_balance_subscription_snapshot"):
        data = decode(json.dumps({"requestId": "b", key: {"balance": 1000.5, "buyingPower": 850}}),
                      "private").data
        assert isinstance(data, m.BalanceSnapshot)
        assert data.balance == Decimal("1000.5") and data.buying_power == Decimal(850)
        assert data.balances == (m.Balance(current_balance=Decimal("1000.5"),
                                           buying_power=Decimal(850)),)


@pytest.mark.parametrize("key", ["accountBalanceSubscriptionUpdate", "accountBalanceUpdate"])
def test_legacy_balance_update_yields_its_balance(key: str) -> None:
    data = decode(json.dumps({key: {"balance": 972.25, "buyingPower": 822.25}}), "private").data
    assert isinstance(data, m.BalanceUpdate) and data.balance == Decimal("972.25")
    assert data.balance_change is not None and data.balance_change.after_balance == m.Balance(
        current_balance=Decimal("972.25"), buying_power=Decimal("822.25"))


def test_legacy_position_update_yields_its_position() -> None:
    text = json.dumps({"positionSubscriptionUpdate": {"marketSlug": "s", "position": {
        "netPosition": "2", "netPositionDecimal": "1.5", "cost": {"value": "82.50", "currency": "USD"}}}})
    data = decode(text, "private").data
    assert isinstance(data, m.PositionUpdate) and data.market_slug == "s"
    assert data.position is not None and data.position.net == Decimal("1.5")
    assert data.after_position == data.position


def test_legacy_position_snapshot_keeps_eof() -> None:
    text = json.dumps({"positionSubscriptionSnapshot": {"positions": {"s": {"netPosition": "1"}},
                                                        "eof": True}})
    data = decode(text, "private").data
    assert data.eof is True and data.positions["s"].net == Decimal(1)


# --------------------------------------------------------- the property: nothing lost

ENDPOINT_OF = {kind: ("markets" if kind in ("market_data", "market_data_lite", "trade") else "private")
               for kind in KIND_MODELS}
PAYLOAD_KEYS = sorted(codec._PAYLOADS)
UNKNOWN_KEYS = st.from_regex(r"zz[a-z]{1,6}(_[a-z0-9]{1,4}){0,2}", fullmatch=True)
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6)
DECIMALS = st.decimals(allow_nan=False, allow_infinity=False, places=4,
                       min_value=-10**9, max_value=10**9).map(lambda d: format(d, "f"))
TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda t: t.isoformat(timespec="microseconds") + "Z")


def _options(tp: Any) -> list[Any]:
    if get_origin(tp) in (Union, types.UnionType):
        return [a for a in get_args(tp) if a is not type(None)]
    return [tp]


def value_for(tp: Any, depth: int) -> st.SearchStrategy[Any]:
    """A wire value of a field of type ``tp`` (never null, lists never empty)."""
    options = _options(tp)
    head = options[0]
    if get_origin(head) is tuple:
        return st.lists(value_for(get_args(head)[0], depth), min_size=1, max_size=2)
    if get_origin(head) is dict:
        return st.dictionaries(st.text("abc-", min_size=1, max_size=4),
                               value_for(get_args(head)[1], depth), min_size=1, max_size=2)
    if isinstance(head, type) and issubclass(head, WireEnum):
        known = [member.value for member in head] + [member.number for member in head if member.number]
        return st.sampled_from(known) | st.integers(100, 200) | st.just("SOME_NEW_NAME")
    if head is m.Amount:
        return st.fixed_dictionaries({"value": DECIMALS, "currency": st.just("USD")},
                                     optional={"zzfx": JSON_VALUES})
    if isinstance(head, type) and attrs.has(head):
        return payload_for(head, depth + 1)
    if head is Decimal:
        return DECIMALS | st.integers(-10**6, 10**6)
    if head is datetime:
        return TIMES
    if head is bool:
        return st.booleans()
    if head is int:
        return st.integers(-2**31, 2**31)
    if head is str:
        return st.text(max_size=8)
    raise AssertionError(f"no strategy for {tp!r}")


def payload_for(cls: Any, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """A wire object of model ``cls``: some of its fields, each in either
    spelling, and unknown fields (snake or camel)."""
    attrs.resolve_types(cls)
    fields = [f for f in attrs.fields(cls) if f.name not in ("extra", "variant")]
    if depth > 2:
        fields = [f for f in fields if not any(attrs.has(o) or get_origin(o) in (tuple, dict)
                                                for o in _options(f.type) if isinstance(o, type)
                                                or get_origin(o))]

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        out: dict[str, Any] = {}
        chosen = draw(st.lists(st.sampled_from(fields), unique=True, max_size=6)) if fields else []
        for field in chosen:
            key = field.name if draw(st.booleans()) else structure.to_camel(field.name)
            out[key] = draw(value_for(field.type, depth))
        for key in draw(st.lists(UNKNOWN_KEYS, unique=True, max_size=2)):
            out[key if draw(st.booleans()) else structure.to_camel(key)] = draw(JSON_VALUES)
        return out

    return build()


@st.composite
def frames(draw: st.DrawFn) -> tuple[str, dict[str, Any], Any]:
    key = draw(st.sampled_from(PAYLOAD_KEYS))
    kind = codec._PAYLOADS[key][0]
    cls = KIND_MODELS[kind]
    if cls is m.RfqEvent:
        variant = draw(st.sampled_from(structure.RFQ_VARIANTS))
        content: dict[str, Any] = {variant: draw(payload_for(structure.RfqParts))}
        for extra in draw(st.lists(UNKNOWN_KEYS, unique=True, max_size=2)):
            content[extra] = draw(JSON_VALUES)
    else:
        content = draw(payload_for(cls))
    wire_key = key if draw(st.booleans()) else structure.to_camel(key)
    return kind, {"requestId": "r", wire_key: content}, cls


def same(wire: Any, plain: Any, tp: Any, where: str) -> None:
    """``plain`` (to_plain's output) is ``wire`` (a field of type ``tp`` as sent)."""
    head = _options(tp)[0] if tp is not None else None
    if tp is None:  # an unknown field: kept exactly as parsed
        assert plain == wire, where
    elif get_origin(head) is tuple:
        assert isinstance(plain, list) and len(plain) == len(wire), where
        for i, (w, p) in enumerate(zip(wire, plain)):
            same(w, p, get_args(head)[0], f"{where}[{i}]")
    elif get_origin(head) is dict:
        assert set(plain) == set(wire), where
        for k in wire:
            same(wire[k], plain[k], get_args(head)[1], f"{where}.{k}")
    elif isinstance(head, type) and issubclass(head, WireEnum):
        assert plain == to_plain(head.from_wire(wire)), where
    elif isinstance(head, type) and attrs.has(head):
        contains(wire, plain, head, where)
    elif head is Decimal:
        assert Decimal(plain) == Decimal(str(wire)), where
    elif head is datetime:
        assert structure.timestamp(plain) == structure.timestamp(wire), where
    else:
        assert plain == wire, where


def contains(wire: dict[str, Any], plain: dict[str, Any], cls: Any, where: str) -> None:
    fields = attrs.fields_dict(cls)
    for key, value in wire.items():
        name = to_snake(key)
        assert name in plain, f"{where}: {key!r} missing from to_plain's output"
        field = fields.get(name)
        known = field is not None and name not in ("extra", "variant")
        same(value, plain[name], field.type if known else None, f"{where}.{name}")


@settings(max_examples=400, deadline=None)
@given(frames())
@example(  # the same unknown key beside the variant and inside it: both kept
    ("rfq_event", {"requestId": "r", "rfqEvent": {"rfq_created": {"zza": None}, "zza": []}},
     m.RfqEvent)
)
def test_to_plain_keeps_every_key_sent_at_every_level(case: tuple[str, dict[str, Any], Any]) -> None:
    kind, frame, cls = case
    for backend in ("json", "orjson") if codec._orjson_module is not None else ("json",):
        previous = codec.use_backend(backend)
        try:
            event = decode(json.dumps(frame), ENDPOINT_OF[kind])
        finally:
            codec.use_backend(previous)
        assert event.kind == kind
        content = next(v for k, v in frame.items() if k != "requestId")
        plain = to_plain(event.data)
        if cls is m.RfqEvent:
            (variant, body), *others = content.items()
            assert plain["variant"] == to_snake(variant)
            contains(body, plain, structure.RfqParts, kind)
            # A key beside the variant whose name the event already uses keeps
            # its value under "rfq_event.NAME".
            taken = {to_snake(k) for k in body} | {f.name for f in attrs.fields(m.RfqEvent)}
            for key, value in others:
                name = to_snake(key)
                shown = f"rfq_event.{name}" if name in taken else name
                assert shown in plain, f"{kind}: {key!r} missing from to_plain's output"
                same(value, plain[shown], None, f"{kind}.{shown}")
        else:
            contains(content, plain, cls, kind)


# ------------------------------------------------------------- the mock's field set

def mock_frames() -> list[tuple[str, str, str]]:
    """(dialect, endpoint, text) of every event kind the mock sends, both dialects."""
    from mockserver.exchange import Enum, Exchange
    from mockserver.protocol import PAYLOAD_KEYS as MOCK_KEYS
    from mockserver.protocol import render
    from mockserver.rfq import RFQ_STAGES

    exchange = Exchange(seed=3, clock=lambda: 1_700_000_000.0)
    events = exchange.book_events(exchange.slugs[0]) + exchange.trade(exchange.slugs[0])
    events += exchange.fill() + exchange.balance_change(Decimal("5"))
    for _ in RFQ_STAGES:
        events += exchange.rfq()
    out = []
    for dialect in ("snake", "camel"):
        for event in events:
            types_, key = MOCK_KEYS[event.kind]
            path = "/v1/ws/markets" if event.kind.startswith(("market", "trade")) else "/v1/ws/private"
            message = {"request_id": "r", "subscription_type": Enum(sorted(types_)[0]), key: event.payload}
            out.append((dialect, path.rsplit("/", 1)[1], render(message, dialect, path)))
        snapshots = [("order_subscription_snapshot", {"orders": exchange.open_orders(), "eof": True}),
                     ("account_balances_snapshot", {"balances": exchange.balances()})]
        for key, payload in snapshots:
            out.append((dialect, "private", render({"request_id": "r", key: payload}, dialect,
                                                   "/v1/ws/private")))
    return out


def models_in(value: Any) -> list[Any]:
    if isinstance(value, (tuple, list)):
        return [x for item in value for x in models_in(item)]
    if isinstance(value, dict):
        return [x for item in value.values() for x in models_in(item)]
    if not attrs.has(type(value)):
        return []
    return [value] + [x for f in attrs.fields(type(value)) for x in models_in(getattr(value, f.name))]


#: SDK fields the mock does not send, with the reason.
NOT_SENT: dict[tuple[type[Any], str], str] = {
    **{(m.PositionUpdate, name): "legacy shape only" for name in ("market_slug", "position")},
    **{(cls, name): "legacy shape only" for cls in (m.BalanceSnapshot, m.BalanceUpdate)
       for name in ("balance", "buying_power")},
    (m.PositionSnapshot, "positions"): "legacy payload, not sent by the gateway",
    (m.PositionSnapshot, "eof"): "legacy payload, not sent by the gateway",
    (m.Execution, "order_reject_reason"): "the mock rejects no order",
    (m.Order, "good_till_time"): "only on GOOD_TILL_DATE orders, which this seed's sample may lack",
    (m.Balance, "pending_withdrawals"): "always an empty list (nothing pending in the mock)",
    (m.Position, "combo_leg_details"): "always an empty list (the mock has no combo markets)",
    **{(m.ComboLegDetail, f.name): "the mock has no combo markets"
       for f in attrs.fields(m.ComboLegDetail)},
    **{(m.ComboSettlement, f.name): "the mock has no combo markets"
       for f in attrs.fields(m.ComboSettlement)},
    **{(m.PendingWithdrawal, f.name): "nothing pending in the mock"
       for f in attrs.fields(m.PendingWithdrawal)},
    **{(m.Team, name): "optional display fields the mock leaves out"
       for name in ("home_icon", "away_icon", "long_icon", "short_icon", "ranking", "conference",
                    "long_icon_dark", "short_icon_dark")},
    **{(m.Subject, name): "optional display fields the mock leaves out"
       for name in ("description", "image", "color", "dark_color", "created_at", "updated_at")},
    (m.ErrorResponse, "error"): "errors are not exchange events",
    (m.ErrorResponse, "request_id"): "errors are not exchange events",
    (m.ErrorResponse, "subscription_type"): "errors are not exchange events",
}


def test_the_mock_sends_every_sdk_field_and_nothing_pmsync_drops() -> None:
    sent: set[tuple[type[Any], str]] = set()
    numeric_sides = []
    for dialect, endpoint, text in mock_frames():
        event = decode(text, endpoint)
        assert event.kind != "unknown", text[:80]
        for model in models_in(event.data):
            assert not model.extra, f"{dialect}: {type(model).__name__} drops {dict(model.extra)}"
            for f in attrs.fields(type(model)):
                if getattr(model, f.name) not in (None, (), {}):
                    sent.add((type(model), f.name))
        if dialect == "snake" and event.kind == "order_update":
            numeric_sides.append(event.data.execution.order.side)
    missing = {(cls.__name__, name, where) for cls, name, where in sdk_fields()
               if (cls, name) not in sent and (cls, name) not in NOT_SENT}
    assert not missing, sorted(missing)
    # The snake dialect's enum numbers reach pmsync; it keeps an unpublished one raw.
    assert numeric_sides and all(type(side) is int for side in numeric_sides)


def test_the_mock_and_pmsync_agree_on_every_published_enum_number() -> None:
    from mockserver.protocol import ENDPOINTS, ENUM_NUMBERS

    for enum in WireEnum.__subclasses__():
        for member in enum:
            if member.number is not None and enum not in (PrivateSubscriptionType,
                                                          MarketSubscriptionType):
                assert ENUM_NUMBERS[member.value] == member.number
    for enum, path in ((PrivateSubscriptionType, "/v1/ws/private"),
                       (MarketSubscriptionType, "/v1/ws/markets")):
        assert {t.value: t.number for t in enum} == ENDPOINTS[path]
    assert OrderSide.from_wire(ENUM_NUMBERS["ORDER_SIDE_BUY"]) == 1  # unpublished: kept raw


@pytest.mark.parametrize("frame", [
    {"requestId": "r", "marketData": {"marketSlug": "s"}, "sequenceNumber": 7},
    {"request_id": "r", "subscription_type": 3, "position_subscription": {}, "sent_at": "x"},
])
def test_unknown_top_level_keys_are_kept_on_the_event(frame: dict[str, Any]) -> None:
    for backend in ("json", "orjson") if codec._orjson_module is not None else ("json",):
        previous = codec.use_backend(backend)
        try:
            event = decode(json.dumps(frame), "markets" if "marketData" in frame else "private")
        finally:
            codec.use_backend(previous)
        (key,) = set(frame) - {"requestId", "request_id", "subscription_type", "marketData",
                                "position_subscription"}
        assert dict(event.extra) == {to_snake(key): frame[key]}
        assert to_plain(event)["extra"] == {to_snake(key): frame[key]}
    assert not decode('{"heartbeat": {}}', "private").extra


def test_an_error_keeps_its_unknown_fields() -> None:
    event = decode('{"requestId": "r", "error": "bad", "code": 7, "subscriptionType": 99}', "private")
    assert event.kind == "error" and event.data.error == "bad"
    assert dict(event.data.extra) == {"code": 7} and event.data.subscription_type == 99
    assert to_plain(event.data)["code"] == 7
