"""Decoding the documented examples of WIRE.md §6 in both dialects (issue 2).

Acceptance: every documented example decodes in the camel dialect and in the
snake dialect (derived here from the camel one: keys to snake_case, enums to
their documented numbers) to equal typed objects; ``"0.555"`` becomes
``Decimal("0.555")`` exactly and ``0.5`` becomes ``Decimal("0.5")``. Also the
tolerance rules of WIRE.md §3 and the legacy spellings of §6.

The examples and the snake derivation are reused by test_codec_properties.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from pmsync import DecodeError
from pmsync import codec, structure
from pmsync import models as m
from pmsync.codec import KINDS, Event, decode, to_plain
from pmsync.enums import (
    ExecutionType,
    LedgerEntryType,
    MarketState,
    MarketSubscriptionType,
    OrderIntent,
    OrderSide,
    OrderState,
    OrderType,
    PrivateSubscriptionType,
    TimeInForce,
)


# Verbatim from WIRE.md §6 "Documented examples (camel dialect)", one per line.
CAMEL_EXAMPLES_TEXT = r"""
{"requestId":"md-sub-1","subscriptionType":"SUBSCRIPTION_TYPE_MARKET_DATA","marketData":{"marketSlug":"market-slug-1","bids":[{"px":{"value":"0.54","currency":"USD"},"qty":"1000"},{"px":{"value":"0.53","currency":"USD"},"qty":"2500"}],"offers":[{"px":{"value":"0.56","currency":"USD"},"qty":"800"},{"px":{"value":"0.57","currency":"USD"},"qty":"1500"}],"state":"MARKET_STATE_OPEN","stats":{"lastTradePx":{"value":"0.55","currency":"USD"},"sharesTraded":"150000","openInterest":"500000","highPx":{"value":"0.58","currency":"USD"},"lowPx":{"value":"0.52","currency":"USD"}},"transactTime":"2024-01-15T10:30:00Z"}}
{"requestId":"mdl-sub-1","subscriptionType":"SUBSCRIPTION_TYPE_MARKET_DATA_LITE","marketDataLite":{"marketSlug":"market-slug-1","currentPx":{"value":"0.55","currency":"USD"},"lastTradePx":{"value":"0.55","currency":"USD"},"bestBid":{"value":"0.54","currency":"USD"},"bestAsk":{"value":"0.56","currency":"USD"},"bidDepth":5,"askDepth":4,"sharesTraded":"150000","openInterest":"500000"}}
{"requestId":"trade-sub-1","subscriptionType":"SUBSCRIPTION_TYPE_TRADE","trade":{"marketSlug":"market-slug-1","price":{"value":"0.555","currency":"USD"},"quantity":{"value":"0.50","currency":"USD"},"tradeTime":"2024-01-15T10:30:00Z","maker":{"side":"ORDER_SIDE_BUY","intent":"ORDER_INTENT_BUY_LONG"},"taker":{"side":"ORDER_SIDE_SELL","intent":"ORDER_INTENT_SELL_LONG"}}}
{"requestId":"order-sub-1","subscriptionType":"SUBSCRIPTION_TYPE_ORDER","orderSubscriptionSnapshot":{"orders":[{"id":"order-123","marketSlug":"market-slug-1","side":"ORDER_SIDE_BUY","type":"ORDER_TYPE_LIMIT","price":{"value":"0.555","currency":"USD"},"quantity":0.5,"leavesQuantity":0.5,"state":"ORDER_STATE_PENDING_NEW","intent":"ORDER_INTENT_BUY_LONG","tif":"TIME_IN_FORCE_GOOD_TILL_CANCEL"}],"eof":true}}
{"requestId":"order-sub-1","subscriptionType":"SUBSCRIPTION_TYPE_ORDER","orderSubscriptionUpdate":{"execution":{"id":"exec-456","order":{"id":"order-123","marketSlug":"market-slug-1","state":"ORDER_STATE_PARTIALLY_FILLED"},"lastShares":"0.25","lastPx":{"value":"0.555","currency":"USD"},"type":"EXECUTION_TYPE_PARTIAL_FILL","tradeId":"trade-789"}}}
{"requestId":"pos-sub-1","subscriptionType":"SUBSCRIPTION_TYPE_POSITION","positionSubscription":{"beforePosition":{"netPosition":"1","netPositionDecimal":"1.0000","cost":{"value":"55.00","currency":"USD"}},"afterPosition":{"netPosition":"2","netPositionDecimal":"1.5000","cost":{"value":"82.50","currency":"USD"}},"updateTime":"2024-01-15T10:30:00Z","entryType":"LEDGER_ENTRY_TYPE_ORDER_EXECUTION","tradeId":"trade-789"}}
{"requestId":"balance-sub-1","subscriptionType":"SUBSCRIPTION_TYPE_ACCOUNT_BALANCE","accountBalancesSnapshot":{"balances":[{"currentBalance":1000.00,"currency":"USD","buyingPower":850.00}]}}
{"requestId":"balance-sub-1","subscriptionType":"SUBSCRIPTION_TYPE_ACCOUNT_BALANCE","accountBalancesUpdate":{"balanceChange":{"beforeBalance":{"currentBalance":1000.00,"currency":"USD","buyingPower":850.00},"afterBalance":{"currentBalance":972.25,"currency":"USD","buyingPower":822.25},"description":"Order execution","updateTime":"2024-01-15T10:30:00Z","entryType":"LEDGER_ENTRY_TYPE_ORDER_EXECUTION"}}}
{"heartbeat":{}}
{"requestId":"unique-request-id","error":"Error description"}
"""

CAMEL_EXAMPLES: list[str] = [
    line for line in CAMEL_EXAMPLES_TEXT.strip().splitlines() if line.strip()
]

#: The endpoint each example is received on (heartbeat and error: both).
ENDPOINTS: list[tuple[str, ...]] = [
    ("markets",),
    ("markets",),
    ("markets",),
    ("private",),
    ("private",),
    ("private",),
    ("private",),
    ("private",),
    ("private", "markets"),
    ("private", "markets"),
]

NAMES = [
    "market_data",
    "market_data_lite",
    "trade",
    "order_snapshot",
    "order_update",
    "position_update",
    "balance_snapshot",
    "balance_update",
    "heartbeat",
    "error",
]

#: Enum numbers WIRE.md documents (§5 per endpoint, §7 for two members). Every
#: other enum name has no published number and stays a name in the snake form.
DOCUMENTED_NUMBERS: dict[str, dict[str, int]] = {
    "private": {
        "SUBSCRIPTION_TYPE_ORDER": 1,
        "SUBSCRIPTION_TYPE_ORDER_SNAPSHOT": 2,
        "SUBSCRIPTION_TYPE_POSITION": 3,
        "SUBSCRIPTION_TYPE_ACCOUNT_BALANCE": 4,
    },
    "markets": {
        "SUBSCRIPTION_TYPE_MARKET_DATA": 1,
        "SUBSCRIPTION_TYPE_MARKET_DATA_LITE": 2,
        "SUBSCRIPTION_TYPE_TRADE": 3,
    },
}
COMMON_NUMBERS = {"MARKET_STATE_OPEN": 1, "LEDGER_ENTRY_TYPE_ORDER_EXECUTION": 1}

_UPPER = re.compile(r"([A-Z])")


def camel_to_snake(key: str) -> str:
    """``"netPositionDecimal"`` → ``"net_position_decimal"`` (independent of pmsync)."""
    return _UPPER.sub(lambda m: "_" + m.group(1).lower(), key)


def to_snake_dialect(obj: Any, endpoint: str, *, top: bool = True) -> Any:
    """Keys to snake_case recursively; documented enum names to their numbers."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for key, value in obj.items():
            snake_key = camel_to_snake(key)
            if top and snake_key == "subscription_type" and isinstance(value, str):
                out[snake_key] = DOCUMENTED_NUMBERS[endpoint].get(value, value)
            else:
                out[snake_key] = to_snake_dialect(value, endpoint, top=False)
        return out
    if isinstance(obj, list):
        return [to_snake_dialect(item, endpoint, top=False) for item in obj]
    if isinstance(obj, str):
        return COMMON_NUMBERS.get(obj, obj)
    return obj


def snake_text(camel_text: str, endpoint: str) -> str:
    return json.dumps(to_snake_dialect(json.loads(camel_text), endpoint))


def parsed_examples() -> list[tuple[Any, str]]:
    """(parsed JSON, endpoint) for every example in both dialects."""
    out: list[tuple[Any, str]] = []
    for text, endpoints in zip(CAMEL_EXAMPLES, ENDPOINTS):
        for endpoint in endpoints:
            out.append((json.loads(text), endpoint))
            out.append((json.loads(snake_text(text, endpoint)), endpoint))
    return out


# ======================================================================== tests
#
# Acceptance (issue 2): every documented example of WIRE.md §6 decodes in the
# camel dialect and in the snake dialect (derived above) to equal typed objects;
# "0.555" becomes Decimal("0.555") exactly, 0.5 becomes Decimal("0.5").

UTC = timezone.utc
T0 = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
CASES = [
    pytest.param(i, endpoint, id=f"{NAMES[i]}-{endpoint}")
    for i, endpoints in enumerate(ENDPOINTS)
    for endpoint in endpoints
]


@pytest.fixture(params=["default", "json"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run with the installed parser (orjson when present) and with plain json."""
    if request.param == "json":
        monkeypatch.setattr(codec, "_orjson", None)
    yield request.param


def usd(value: str) -> m.Amount:
    return m.Amount(value=Decimal(value), currency="USD")


def assert_exact(value: object, text: str) -> None:
    """A Decimal equal to ``text`` and spelled exactly so (no binary float on the way)."""
    assert isinstance(value, Decimal)
    assert value == Decimal(text)
    assert str(value) == text


def assert_aware(value: object, expected: datetime = T0) -> None:
    assert isinstance(value, datetime)
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)
    assert value == expected


def test_examples_are_verbatim_from_wire_md() -> None:
    assert len(CAMEL_EXAMPLES) == 10
    wire = Path(__file__).resolve().parents[3] / "shared" / "spec" / "WIRE.md"
    if not wire.is_file():
        pytest.skip("WIRE.md not available beside this checkout")
    lines = set(wire.read_text(encoding="utf-8").splitlines())
    for example in CAMEL_EXAMPLES:
        assert example in lines


def test_snake_derivation_is_really_snake() -> None:
    """The derived snake texts have no camel key left and use the documented numbers."""
    for text, endpoints in zip(CAMEL_EXAMPLES, ENDPOINTS):
        for endpoint in endpoints:
            snake = snake_text(text, endpoint)
            assert not re.search(r'"[a-z]+[A-Z]\w*":', snake), snake
    md = json.loads(snake_text(CAMEL_EXAMPLES[0], "markets"))
    assert md["subscription_type"] == 1
    assert md["market_data"]["state"] == 1
    assert "last_trade_px" in md["market_data"]["stats"]
    order = json.loads(snake_text(CAMEL_EXAMPLES[3], "private"))
    assert order["subscription_type"] == 1
    assert order["order_subscription_snapshot"]["orders"][0]["state"] == "ORDER_STATE_PENDING_NEW"
    assert "leaves_quantity" in order["order_subscription_snapshot"]["orders"][0]
    pos = json.loads(snake_text(CAMEL_EXAMPLES[5], "private"))
    assert pos["subscription_type"] == 3
    assert pos["position_subscription"]["entry_type"] == 1
    assert json.loads(snake_text(CAMEL_EXAMPLES[6], "private"))["subscription_type"] == 4
    assert json.loads(snake_text(CAMEL_EXAMPLES[1], "markets"))["subscription_type"] == 2
    assert json.loads(snake_text(CAMEL_EXAMPLES[2], "markets"))["subscription_type"] == 3


@pytest.mark.parametrize("index, endpoint", CASES)
def test_camel_and_snake_decode_to_equal_events(index: int, endpoint: str, backend: str) -> None:
    camel = CAMEL_EXAMPLES[index]
    snake = snake_text(camel, endpoint)
    a = decode(camel, endpoint)
    b = decode(snake, endpoint)
    assert isinstance(a, Event) and isinstance(b, Event)
    assert a == b
    assert a.kind == NAMES[index] and a.kind in KINDS
    # .raw is the original text, kept by reference; equality ignores it.
    assert a.raw is camel
    assert b.raw is snake
    assert a.resync is False and b.resync is False
    # bytes are accepted too.
    assert decode(camel.encode("utf-8"), endpoint) == a
    assert decode(snake.encode("utf-8"), endpoint) == b


def test_market_data_values() -> None:
    e = decode(CAMEL_EXAMPLES[0], "markets")
    assert e.kind == "market_data"
    assert e.request_id == "md-sub-1"
    assert e.subscription_type is MarketSubscriptionType.MARKET_DATA
    d = e.data
    assert isinstance(d, m.MarketData)
    assert d.market_slug == "market-slug-1"
    assert d.bids == (
        m.BookLevel(px=usd("0.54"), qty=Decimal("1000")),
        m.BookLevel(px=usd("0.53"), qty=Decimal("2500")),
    )
    assert d.offers == (
        m.BookLevel(px=usd("0.56"), qty=Decimal("800")),
        m.BookLevel(px=usd("0.57"), qty=Decimal("1500")),
    )
    assert_exact(d.bids[0].px.value, "0.54")  # type: ignore[union-attr]
    assert d.best_bid == Decimal("0.54") and d.best_ask == Decimal("0.56")
    assert d.state is MarketState.OPEN
    assert MarketState.OPEN.number == 1
    assert d.stats == m.MarketStats(
        last_trade_px=usd("0.55"),
        shares_traded=Decimal("150000"),
        open_interest=Decimal("500000"),
        high_px=usd("0.58"),
        low_px=usd("0.52"),
    )
    assert_aware(d.transact_time)


def test_market_data_lite_values() -> None:
    e = decode(CAMEL_EXAMPLES[1], "markets")
    assert e.subscription_type is MarketSubscriptionType.MARKET_DATA_LITE
    assert e.data == m.MarketDataLite(
        market_slug="market-slug-1",
        current_px=usd("0.55"),
        last_trade_px=usd("0.55"),
        best_bid=usd("0.54"),
        best_ask=usd("0.56"),
        bid_depth=5,
        ask_depth=4,
        shares_traded=Decimal("150000"),
        open_interest=Decimal("500000"),
    )
    assert type(e.data.bid_depth) is int


def test_trade_values_are_exact() -> None:
    e = decode(CAMEL_EXAMPLES[2], "markets")
    assert e.request_id == "trade-sub-1"
    assert e.subscription_type is MarketSubscriptionType.TRADE
    t = e.data
    assert isinstance(t, m.Trade)
    assert t.price is not None and t.quantity is not None
    assert_exact(t.price.value, "0.555")
    assert t.price.value == Decimal("0.555")
    assert t.price.currency == "USD"
    assert_exact(t.quantity.value, "0.50")
    assert t.quantity.value == Decimal("0.5")
    assert_aware(t.trade_time)
    assert t.maker == m.TradeSide(side=OrderSide.BUY, intent=OrderIntent.BUY_LONG)
    assert t.taker == m.TradeSide(side=OrderSide.SELL, intent=OrderIntent.SELL_LONG)
    assert t.maker.side is OrderSide.BUY


def test_order_snapshot_values() -> None:
    e = decode(CAMEL_EXAMPLES[3], "private")
    assert e.kind == "order_snapshot"
    assert e.subscription_type is PrivateSubscriptionType.ORDER
    snap = e.data
    assert isinstance(snap, m.OrderSnapshot)
    assert snap.eof is True
    (order,) = snap.orders
    assert order.id == "order-123"
    assert order.market_slug == "market-slug-1"
    assert order.side is OrderSide.BUY
    assert order.type is OrderType.LIMIT
    assert order.price == usd("0.555")
    assert_exact(order.price.value, "0.555")
    # JSON number 0.5 → Decimal("0.5"), never the binary expansion.
    assert_exact(order.quantity, "0.5")
    assert_exact(order.leaves_quantity, "0.5")
    assert order.state is OrderState.PENDING_NEW
    assert order.intent is OrderIntent.BUY_LONG
    assert order.tif is TimeInForce.GOOD_TILL_CANCEL
    assert order.cum_quantity is None and order.market_metadata is None


def test_order_update_values() -> None:
    e = decode(CAMEL_EXAMPLES[4], "private")
    assert e.kind == "order_update"
    ex = e.data.execution
    assert isinstance(ex, m.Execution)
    assert ex.id == "exec-456"
    assert ex.order == m.Order(
        id="order-123", market_slug="market-slug-1", state=OrderState.PARTIALLY_FILLED
    )
    assert_exact(ex.last_shares, "0.25")
    assert ex.last_px == usd("0.555")
    assert ex.type is ExecutionType.PARTIAL_FILL
    assert ex.trade_id == "trade-789"


def test_position_update_values() -> None:
    e = decode(CAMEL_EXAMPLES[5], "private")
    assert e.kind == "position_update"
    assert e.subscription_type is PrivateSubscriptionType.POSITION
    p = e.data
    assert isinstance(p, m.PositionUpdate)
    assert p.before_position == m.Position(
        net_position=Decimal("1"), net_position_decimal=Decimal("1.0000"), cost=usd("55.00")
    )
    assert p.after_position is not None
    assert_exact(p.after_position.net_position_decimal, "1.5000")
    assert p.after_position.net == Decimal("1.5")
    assert p.after_position.net_position == Decimal("2")
    assert_exact(p.after_position.cost.value, "82.50")  # type: ignore[union-attr]
    assert_aware(p.update_time)
    assert p.entry_type is LedgerEntryType.ORDER_EXECUTION
    assert LedgerEntryType.ORDER_EXECUTION.number == 1
    assert p.trade_id == "trade-789"
    assert p.transfer_reference_trade_ids == ()


def test_balance_snapshot_values() -> None:
    e = decode(CAMEL_EXAMPLES[6], "private")
    assert e.kind == "balance_snapshot"
    assert e.subscription_type is PrivateSubscriptionType.ACCOUNT_BALANCE
    (bal,) = e.data.balances
    assert isinstance(bal.current_balance, Decimal)
    assert bal.current_balance == Decimal("1000")
    assert bal.buying_power == Decimal("850")
    assert bal.currency == "USD"
    assert bal.pending_withdrawals == ()


def test_balance_update_values() -> None:
    e = decode(CAMEL_EXAMPLES[7], "private")
    assert e.kind == "balance_update"
    change = e.data.balance_change
    assert isinstance(change, m.BalanceChange)
    assert change.before_balance == m.Balance(
        current_balance=Decimal("1000"), currency="USD", buying_power=Decimal("850")
    )
    assert_exact(change.after_balance.current_balance, "972.25")  # type: ignore[union-attr]
    assert_exact(change.after_balance.buying_power, "822.25")  # type: ignore[union-attr]
    assert change.description == "Order execution"
    assert_aware(change.update_time)
    assert change.entry_type is LedgerEntryType.ORDER_EXECUTION


@pytest.mark.parametrize("endpoint", ["private", "markets"])
def test_heartbeat(endpoint: str) -> None:
    e = decode(CAMEL_EXAMPLES[8], endpoint)
    assert e == Event("heartbeat", None, None, m.Heartbeat(), "")
    assert isinstance(e.data, m.Heartbeat)
    assert decode('{"heartbeat":null}', endpoint).kind == "heartbeat"


@pytest.mark.parametrize("endpoint", ["private", "markets"])
def test_error_without_subscription_type(endpoint: str) -> None:
    e = decode(CAMEL_EXAMPLES[9], endpoint)
    assert e.kind == "error"
    assert e.request_id == "unique-request-id"
    assert e.subscription_type is None
    assert e.data == m.ErrorResponse(
        error="Error description", request_id="unique-request-id", subscription_type=None
    )


@pytest.mark.parametrize(
    "text, endpoint, expected",
    [
        (
            '{"requestId":"t-1","subscriptionType":"SUBSCRIPTION_TYPE_TRADE",'
            '"error":"no such market"}',
            "markets",
            MarketSubscriptionType.TRADE,
        ),
        ('{"request_id":"t-1","subscription_type":3,"error":"no such market"}', "markets",
         MarketSubscriptionType.TRADE),
        ('{"request_id":"t-1","subscription_type":3,"error":"no such market"}', "private",
         PrivateSubscriptionType.POSITION),
        ('{"request_id":"t-1","subscriptionType":"SUBSCRIPTION_TYPE_RFQ","error":"no such market"}',
         "private", PrivateSubscriptionType.RFQ),
        ('{"request_id":"t-1","subscription_type":77,"error":"no such market"}', "private", 77),
    ],
)
def test_error_with_subscription_type(text: str, endpoint: str, expected: object) -> None:
    e = decode(text, endpoint)
    assert e.kind == "error"
    assert e.request_id == "t-1"
    assert e.subscription_type == expected
    assert e.data.subscription_type == expected
    assert e.data.error == "no such market"
    assert e.data.request_id == "t-1"


def test_error_that_is_not_a_string_is_kept_as_json() -> None:
    e = decode('{"requestId":"x","error":{"code":5,"message":"bad"}}', "private")
    assert e.kind == "error"
    assert json.loads(e.data.error) == {"code": 5, "message": "bad"}


# ------------------------------------------------------------ typed values


@pytest.mark.parametrize(
    "stamp, expected",
    [
        ("2026-10-01T12:34:56.123456789Z", datetime(2026, 10, 1, 12, 34, 56, 123456, tzinfo=UTC)),
        ("2026-10-01T12:34:56.123456789z", datetime(2026, 10, 1, 12, 34, 56, 123456, tzinfo=UTC)),
        ("2026-10-01T12:34:56Z", datetime(2026, 10, 1, 12, 34, 56, tzinfo=UTC)),
        ("2026-10-01T12:34:56.5Z", datetime(2026, 10, 1, 12, 34, 56, 500000, tzinfo=UTC)),
        ("2026-10-01T14:34:56.123+02:00", datetime(2026, 10, 1, 12, 34, 56, 123000, tzinfo=UTC)),
        ("2026-10-01T12:34:56", datetime(2026, 10, 1, 12, 34, 56, tzinfo=UTC)),
    ],
)
def test_timestamps_are_aware(stamp: str, expected: datetime) -> None:
    text = json.dumps({"trade": {"tradeTime": stamp}})
    t = decode(text, "markets").data.trade_time
    assert t.tzinfo is not None
    assert t == expected


def test_nanosecond_timestamps_everywhere() -> None:
    ns = "2026-10-01T12:34:56.123456789Z"
    text = json.dumps(
        {
            "requestId": "order-sub-1",
            "orderSubscriptionUpdate": {
                "execution": {
                    "transactTime": ns,
                    "order": {"insertTime": ns, "createTime": ns, "goodTillTime": ns},
                }
            },
        }
    )
    ex = decode(text, "private").data.execution
    expected = datetime(2026, 10, 1, 12, 34, 56, 123456, tzinfo=UTC)
    assert ex.transact_time == expected
    assert ex.order.insert_time == expected
    assert ex.order.create_time == expected
    assert ex.order.good_till_time == expected


@pytest.mark.parametrize(
    "number, expected",
    [("0.5", "0.5"), ("0.1", "0.1"), ("1000.00", "1000.0"), ("972.25", "972.25"),
     ("3", "3"), ("1e-7", "1E-7"), ("0.30000000000000004", "0.30000000000000004")],
)
def test_json_numbers_become_shortest_decimal(number: str, expected: str, backend: str) -> None:
    text = '{"orderSubscriptionSnapshot":{"orders":[{"quantity":%s}]}}' % number
    q = decode(text, "private").data.orders[0].quantity
    assert isinstance(q, Decimal)
    assert str(q) == expected
    assert q == Decimal(expected)
    assert q != Decimal(0.1) or number != "0.1"


def test_decimal_strings_convert_exactly() -> None:
    text = '{"trade":{"price":{"value":"0.123456789012345678901234567890","currency":"USD"}}}'
    assert_exact(decode(text, "markets").data.price.value, "0.123456789012345678901234567890")


# ------------------------------------------------------------ tolerance


LEGACY = [
    ("ordersSnapshot", {"orders": [{"id": "o-1"}], "eof": True}, "order_snapshot"),
    ("orders_snapshot", {"orders": [{"id": "o-1"}], "eof": True}, "order_snapshot"),
    ("orderUpdate", {"execution": {"id": "e-1"}}, "order_update"),
    ("order_update", {"execution": {"id": "e-1"}}, "order_update"),
    ("positionSubscriptionUpdate", {"tradeId": "t-1"}, "position_update"),
    ("position_subscription_update", {"trade_id": "t-1"}, "position_update"),
    ("positionUpdate", {"tradeId": "t-1"}, "position_update"),
    ("position_update", {"trade_id": "t-1"}, "position_update"),
    ("accountBalanceSubscriptionSnapshot", {"balances": [{"currentBalance": 5}]},
     "balance_snapshot"),
    ("account_balance_subscription_snapshot", {"balances": [{"current_balance": 5}]},
     "balance_snapshot"),
    ("accountBalanceSubscriptionUpdate", {"balanceChange": {"description": "d"}}, "balance_update"),
    ("account_balance_subscription_update", {"balance_change": {"description": "d"}},
     "balance_update"),
    ("accountBalanceUpdate", {"balanceChange": {"description": "d"}}, "balance_update"),
    ("account_balance_update", {"balance_change": {"description": "d"}}, "balance_update"),
]


@pytest.mark.parametrize("key, body, kind", LEGACY, ids=[k for k, _, _ in LEGACY])
def test_legacy_payload_spellings(key: str, body: dict[str, object], kind: str) -> None:
    e = decode(json.dumps({"requestId": "r-1", key: body}), "private")
    assert e.kind == kind
    assert e.request_id == "r-1"
    if kind == "order_snapshot":
        assert e.data == m.OrderSnapshot(orders=(m.Order(id="o-1"),), eof=True)
    elif kind == "order_update":
        assert e.data == m.OrderUpdate(execution=m.Execution(id="e-1"))
    elif kind == "position_update":
        assert e.data == m.PositionUpdate(trade_id="t-1")
    elif kind == "balance_snapshot":
        assert e.data == m.BalanceSnapshot(balances=(m.Balance(current_balance=Decimal(5)),))
    else:
        assert e.data == m.BalanceUpdate(balance_change=m.BalanceChange(description="d"))


@pytest.mark.parametrize(
    "key",
    ["positionsSnapshot", "positions_snapshot", "positionSubscriptionSnapshot",
     "position_subscription_snapshot"],
)
def test_legacy_position_snapshot_with_a_map(key: str) -> None:
    body = {
        "positions": {
            "market-slug-1": {"netPosition": "2", "netPositionDecimal": "1.5000",
                              "cost": {"value": "82.50", "currency": "USD"}},
            "market-slug-2": {"net_position_decimal": "-3", "expired": True, "updateTime": None},
        }
    }
    e = decode(json.dumps({"requestId": "pos-1", key: body}), "private")
    assert e.kind == "position_snapshot"
    assert isinstance(e.data, m.PositionSnapshot)
    assert set(e.data.positions) == {"market-slug-1", "market-slug-2"}
    first = e.data.positions["market-slug-1"]
    assert first == m.Position(
        net_position=Decimal("2"), net_position_decimal=Decimal("1.5000"), cost=usd("82.50")
    )
    second = e.data.positions["market-slug-2"]
    assert second.net == Decimal("-3") and second.expired is True and second.update_time is None


@pytest.mark.parametrize("endpoint", ["private", "markets"])
def test_unknown_payload_key_is_an_unknown_event(endpoint: str) -> None:
    text = (
        '{"requestId":"x-1","subscriptionType":"SUBSCRIPTION_TYPE_FUTURE",'
        '"brandNewThing":{"a":[1,2]}}'
    )
    e = decode(text, endpoint)
    assert e.kind == "unknown"
    assert e.request_id == "x-1"
    assert e.subscription_type == "SUBSCRIPTION_TYPE_FUTURE"
    assert e.data == json.loads(text)
    assert isinstance(e.data, dict)
    assert decode("{}", endpoint).kind == "unknown"
    assert decode("{}", endpoint).data == {}


def test_unknown_fields_are_kept_at_every_level() -> None:
    base = decode(CAMEL_EXAMPLES[0], "markets").data
    noisy = json.loads(CAMEL_EXAMPLES[0])
    noisy["newTopLevel"] = {"x": 1}
    md = noisy["marketData"]
    md["depthVersion"] = 7
    md["bids"][0]["orderCount"] = 3
    md["bids"][0]["px"]["precision"] = 4
    md["stats"]["vwap"] = {"value": "0.5"}
    md["unknown_snake_field"] = [None, True]
    data = decode(json.dumps(noisy), "markets").data
    assert dict(data.extra) == {"depth_version": 7, "unknown_snake_field": [None, True]}
    assert dict(data.bids[0].extra) == {"order_count": 3}
    assert dict(data.bids[0].px.extra) == {"precision": 4}
    assert dict(data.stats.extra) == {"vwap": {"value": "0.5"}}
    # Everything modelled reads as without the unknown fields.
    assert attrs.evolve(data, extra={}, bids=(attrs.evolve(data.bids[0], extra={}, px=base.bids[0].px),
                                              *data.bids[1:]),
                        stats=attrs.evolve(data.stats, extra={})) == base
    assert to_plain(data)["bids"][0] == {"px": {"value": "0.54", "currency": "USD", "precision": 4},
                                         "qty": "1000", "order_count": 3}


def test_unknown_enum_numbers_and_names_are_kept_raw() -> None:
    text = json.dumps({
        "request_id": "r",
        "subscription_type": 99,
        "order_subscription_snapshot": {"orders": [
            {"side": 7, "type": "ORDER_TYPE_STOP", "state": 42, "intent": "ORDER_INTENT_NEW",
             "tif": 9},
        ]},
    })
    e = decode(text, "private")
    assert e.subscription_type == 99 and type(e.subscription_type) is int
    (order,) = e.data.orders
    assert order.side == 7 and type(order.side) is int
    assert order.type == "ORDER_TYPE_STOP" and type(order.type) is str
    assert order.state == 42
    assert order.intent == "ORDER_INTENT_NEW"
    assert order.tif == 9
    md = decode(
        '{"subscriptionType":"SUBSCRIPTION_TYPE_X","marketData":{"state":"MARKET_STATE_NEW"}}',
        "markets",
    )
    assert md.subscription_type == "SUBSCRIPTION_TYPE_X"
    assert md.data.state == "MARKET_STATE_NEW" and type(md.data.state) is str
    assert decode('{"marketData":{"state":5}}', "markets").data.state == 5
    pos = decode('{"positionSubscription":{"entryType":12}}', "private")
    assert pos.data.entry_type == 12


def test_known_enum_numbers_become_members() -> None:
    assert decode('{"marketData":{"state":1}}', "markets").data.state is MarketState.OPEN
    bal = decode('{"accountBalancesUpdate":{"balanceChange":{"entryType":1}}}', "private")
    assert bal.data.balance_change.entry_type is LedgerEntryType.ORDER_EXECUTION


def test_null_for_message_typed_fields() -> None:
    text = json.dumps({
        "requestId": "pos-sub-1",
        "subscriptionType": None,
        "positionSubscription": {
            "beforePosition": None,
            "afterPosition": {"netPositionDecimal": "1", "updateTime": None, "cost": None,
                              "marketMetadata": None},
            "updateTime": None,
            "updateTradeDate": None,
            "entryType": None,
            "transferReferenceTradeIds": None,
        },
    })
    e = decode(text, "private")
    assert e.subscription_type is None
    assert e.data == m.PositionUpdate(after_position=m.Position(net_position_decimal=Decimal(1)))
    md = decode('{"marketData":{"bids":null,"offers":null,"stats":null,"transactTime":null}}',
                "markets")
    assert md.data.bids == () and md.data.stats is None and md.data.transact_time is None
    assert md.data.offers == ()
    # A null inside a repeated field is not proto3-JSON: a DecodeError, not a crash.
    with pytest.raises(DecodeError):
        decode('{"marketData":{"offers":[null]}}', "markets")
    assert decode('{"requestId":null,"trade":null}', "markets").data == m.Trade()


def test_position_extras() -> None:
    text = json.dumps({"positionSubscription": {
        "referenceId": "ref", "description": "d", "allocationGroupId": "g",
        "transferReferenceTradeIds": ["a", "b"], "shortTransfer": False,
        "updateTradeDate": "2024-01-15T10:30:00Z",
        "afterPosition": {"expired": False, "marketMetadata": {
            "slug": "s", "eventSlug": "ev", "team": {"name": "x"}, "subject": None}},
    }})
    p = decode(text, "private").data
    assert p.reference_id == "ref" and p.allocation_group_id == "g"
    assert p.transfer_reference_trade_ids == ("a", "b")
    assert p.short_transfer is False
    assert_aware(p.update_trade_date)
    assert p.after_position.market_metadata == m.MarketMetadata(
        slug="s", event_slug="ev", team=m.Team(name="x"))


def test_balance_pending_withdrawals() -> None:
    text = json.dumps({"accountBalancesSnapshot": {"balances": [{
        "currentBalance": 0.1, "lastUpdated": "2024-01-15T10:30:00Z",
        "pendingWithdrawals": [{"id": "w", "balance": 12.5, "acknowledged": True,
                                "creationTime": "2024-01-15T10:30:00Z", "bankId": "b"}],
    }]}})
    (bal,) = decode(text, "private").data.balances
    assert_exact(bal.current_balance, "0.1")
    assert_aware(bal.last_updated)
    (w,) = bal.pending_withdrawals
    assert w == m.PendingWithdrawal(id="w", balance=Decimal("12.5"), acknowledged=True,
                                    creation_time=T0, bank_id="b")


# ------------------------------------------------------------ RFQ


RFQ = {"id": "rfq-1", "symbol": "market-slug-1", "status": "RFQ_STATUS_OPEN", "tickSize": 0.01}
QUOTE = {"id": "q-1", "symbol": "market-slug-1", "status": "QUOTE_STATUS_OPEN"}


@pytest.mark.parametrize("camel", [True, False], ids=["camel", "snake"])
@pytest.mark.parametrize(
    "variant, body",
    [
        ("rfq_created", {"rfq": RFQ}),
        ("rfq_closed", {"rfq": RFQ}),
        ("quote_created", {"quote": QUOTE}),
        ("quote_deleted", {"quote": QUOTE}),
        ("quote_accepted", {"quote": QUOTE, "confirmationDeadline": "2024-01-15T10:30:00Z"}),
        ("quote_confirmed", {"quote": QUOTE, "executionDeadline": "2024-01-15T10:30:00Z"}),
        ("quote_executed", {"quote": QUOTE, "orderId": "o-1", "clientOrderId": "c-1",
                            "executedTime": "2024-01-15T10:30:00Z"}),
    ],
)
def test_rfq_variants(variant: str, body: dict[str, object], camel: bool) -> None:
    key = structure.to_camel(variant) if camel else variant
    if not camel:
        body = to_snake_dialect(body, "private", top=False)
    outer = "rfqEvent" if camel else "rfq_event"
    sub = {"subscriptionType": "SUBSCRIPTION_TYPE_RFQ"}
    e = decode(json.dumps({"requestId": "rfq-sub", **sub, outer: {key: body}}), "private")
    assert e.kind == "rfq_event"
    assert e.subscription_type is PrivateSubscriptionType.RFQ
    ev = e.data
    assert isinstance(ev, m.RfqEvent)
    assert ev.variant == variant
    assert ev.extra == {}
    if "rfq" in body:
        assert ev.rfq == m.Rfq(id="rfq-1", symbol="market-slug-1", status="RFQ_STATUS_OPEN",
                               tick_size=Decimal("0.01"))
        assert_exact(ev.rfq.tick_size, "0.01")
    else:
        assert ev.quote == m.Quote(id="q-1", symbol="market-slug-1", status="QUOTE_STATUS_OPEN")
    if variant == "quote_accepted":
        assert_aware(ev.confirmation_deadline)
    if variant == "quote_confirmed":
        assert_aware(ev.execution_deadline)
    if variant == "quote_executed":
        assert (ev.order_id, ev.client_order_id) == ("o-1", "c-1")
        assert_aware(ev.executed_time)


@pytest.mark.parametrize("camel", [True, False], ids=["camel", "snake"])
def test_rfq_trade_print_with_plain_decimals_and_extras(camel: bool) -> None:
    trade = {"tradeId": "rt-1", "symbol": "market-slug-1", "price": "0.555",
             "qtyDecimal": "10.50", "aggressorSide": "SIDE_BUY",
             "executedTime": "2026-10-01T12:34:56.123456789Z"}
    body: dict[str, object] = {"trade": trade, "venueCode": "X", "legs": [{"a": 1}]}
    if not camel:
        body = to_snake_dialect(body, "private", top=False)
    outer, variant = ("rfqEvent", "rfqTrade") if camel else ("rfq_event", "rfq_trade")
    e = decode(json.dumps({"requestId": "rfq-sub", outer: {variant: body}}), "private")
    ev = e.data
    assert ev.variant == "rfq_trade"
    assert ev.trade == m.RfqTrade(
        trade_id="rt-1", symbol="market-slug-1", price=Decimal("0.555"),
        qty_decimal=Decimal("10.50"), aggressor_side="SIDE_BUY",
        executed_time=datetime(2026, 10, 1, 12, 34, 56, 123456, tzinfo=UTC),
    )
    assert_exact(ev.trade.price, "0.555")
    assert_exact(ev.trade.qty_decimal, "10.50")
    assert ev.extra == {"venue_code": "X", "legs": [{"a": 1}]}


def test_rfq_unknown_variant_is_kept() -> None:
    e = decode('{"rfqEvent":{"rfqExpired":{"rfq":{"id":"r"},"why":"late"}}}', "private")
    assert e.kind == "rfq_event"
    assert e.data.variant == "rfq_expired"
    assert e.data.rfq == m.Rfq(id="r")
    assert e.data.extra == {"why": "late"}


# ------------------------------------------------------------ dialects


def test_a_mix_of_dialects_in_one_message() -> None:
    mixed = json.dumps({
        "request_id": "md-sub-1",
        "subscriptionType": 1,
        "marketData": {
            "market_slug": "market-slug-1",
            "bids": [{"px": {"value": "0.54", "currency": "USD"}, "qty": 1000},
                     {"px": {"value": "0.53", "currency": "USD"}, "qty": "2500"}],
            "offers": [{"px": {"value": "0.56", "currency": "USD"}, "qty": "800"},
                       {"px": {"value": "0.57", "currency": "USD"}, "qty": 1500}],
            "state": "MARKET_STATE_OPEN",
            "stats": {"last_trade_px": {"value": "0.55", "currency": "USD"},
                      "sharesTraded": 150000, "open_interest": "500000",
                      "highPx": {"value": "0.58", "currency": "USD"},
                      "low_px": {"value": "0.52", "currency": "USD"}},
            "transact_time": "2024-01-15T10:30:00Z",
        },
    })
    assert decode(mixed, "markets") == decode(CAMEL_EXAMPLES[0], "markets")


@pytest.mark.parametrize(
    "number, private, markets",
    [
        (1, PrivateSubscriptionType.ORDER, MarketSubscriptionType.MARKET_DATA),
        (2, PrivateSubscriptionType.ORDER_SNAPSHOT, MarketSubscriptionType.MARKET_DATA_LITE),
        (3, PrivateSubscriptionType.POSITION, MarketSubscriptionType.TRADE),
        (4, PrivateSubscriptionType.ACCOUNT_BALANCE, 4),
    ],
)
def test_subscription_number_depends_on_endpoint(number: int, private: object,
                                                 markets: object) -> None:
    text = '{"request_id":"r","subscription_type":%d,"heartbeat":{}}' % number
    assert decode(text, "private").subscription_type == private
    assert decode(text, "markets").subscription_type == markets
    if not isinstance(markets, int):
        on_private = decode(text, "private").subscription_type
        assert on_private is not decode(text, "markets").subscription_type


def test_subscription_name_of_other_endpoint_is_kept_raw() -> None:
    text = '{"subscriptionType":"SUBSCRIPTION_TYPE_TRADE","heartbeat":{}}'
    assert decode(text, "private").subscription_type == "SUBSCRIPTION_TYPE_TRADE"
    assert decode(text, "markets").subscription_type is MarketSubscriptionType.TRADE


# ------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "text",
    ["", "not json", "{", "[]", "[1,2]", '"a string"', "42", "null", "true", "NaN",
     '{"a": NaN}', '{"a": Infinity}', b"\xff\xfe{}", '{"marketData":{"bids":"oops"}}',
     '{"marketData":{"bids":[{"qty":"abc"}]}}', '{"trade":{"tradeTime":"yesterday"}}',
     '{"trade":{"tradeTime":12}}', '{"marketData":[]}', '{"marketData":{"state":[1]}}',
     '{"rfqEvent":{"rfqCreated":[1]}}', '{"rfqEvent":"x"}', '{"requestId":["x"],"heartbeat":{}}',
     '{"subscriptionType":{"a":1},"heartbeat":{}}', '{"trade":{"price":{"value":"Infinity"}}}',
     '{"orderSubscriptionSnapshot":{"eof":"yes"}}', '[' * 100_000],
)
def test_bad_frames_raise_decode_error(text: str | bytes, backend: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode(text, "markets")
    err = info.value
    assert err.reason
    assert isinstance(err.raw, str)
    assert len(err.raw) <= 1024
    assert str(err)


def test_decode_error_names_the_field_and_keeps_the_raw_text() -> None:
    text = '{"requestId":"md-1","marketData":{"bids":[{"px":{"value":"0.5"},"qty":"many"}]}}'
    with pytest.raises(DecodeError) as info:
        decode(text, "markets")
    assert "marketData" in info.value.reason
    assert "qty" in info.value.reason
    assert info.value.raw == text


def test_unknown_endpoint_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="endpoint"):
        decode("{}", "public")


# ------------------------------------------------------------ enums


def test_enum_members_know_their_wire_name_and_number() -> None:
    assert PrivateSubscriptionType.ORDER.value == "SUBSCRIPTION_TYPE_ORDER"
    assert [t.number for t in PrivateSubscriptionType] == [1, 2, 3, 4, None]
    assert [t.number for t in MarketSubscriptionType] == [1, 2, 3]
    assert PrivateSubscriptionType.RFQ.wire("snake") == "SUBSCRIPTION_TYPE_RFQ"
    assert MarketSubscriptionType.TRADE.wire("snake") == 3
    assert MarketSubscriptionType.TRADE.wire("camel") == "SUBSCRIPTION_TYPE_TRADE"
    assert OrderSide.BUY.number is None and OrderSide.BUY.wire("snake") == "ORDER_SIDE_BUY"
    assert str(OrderState.FILLED) == "ORDER_STATE_FILLED"
    assert MarketState.from_wire(1) is MarketState.OPEN
    assert MarketState.from_wire("MARKET_STATE_HALTED") is MarketState.HALTED
    assert MarketState.from_wire(2) == 2
    assert OrderSide.from_wire("ORDER_SIDE_HOLD") == "ORDER_SIDE_HOLD"


@pytest.mark.parametrize("value", [True, False, 1.0, None, [1], {"a": 1}])
def test_enum_from_wire_rejects_non_names_and_non_numbers(value: object) -> None:
    # True and 1.0 hash like 1: they must not find the member numbered 1.
    with pytest.raises(TypeError):
        MarketState.from_wire(value)
    with pytest.raises(TypeError):
        PrivateSubscriptionType.from_wire(value)


@pytest.mark.parametrize("value", ["true", "1.0", "[1]"])
def test_enum_field_of_wrong_json_type_is_a_decode_error(value: str) -> None:
    with pytest.raises(DecodeError):
        decode('{"marketData":{"state":%s}}' % value, "markets")
    with pytest.raises(DecodeError):
        decode('{"subscriptionType":%s,"heartbeat":{}}' % value, "private")
