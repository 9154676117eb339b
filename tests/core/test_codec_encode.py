"""encode_subscribe / encode_unsubscribe produce exactly the documented request
shapes of WIRE.md §4 in both dialects (issue 2 acceptance)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pmsync.codec import encode_subscribe, encode_unsubscribe
from pmsync.enums import MarketSubscriptionType as M
from pmsync.enums import PrivateSubscriptionType as P

SLUGS = ["market-slug-1", "market-slug-2"]


def parse(frame: str) -> Any:
    assert isinstance(frame, str)
    return json.loads(frame)


def test_documented_snake_subscribe() -> None:
    frame = encode_subscribe("md-sub-1", M.MARKET_DATA, SLUGS)
    assert parse(frame) == {
        "subscribe": {
            "request_id": "md-sub-1",
            "subscription_type": 1,
            "market_slugs": ["market-slug-1", "market-slug-2"],
        }
    }
    # Default dialect is snake; explicit snake is the same.
    assert frame == encode_subscribe("md-sub-1", M.MARKET_DATA, SLUGS, dialect="snake")


def test_documented_camel_subscribe() -> None:
    frame = encode_subscribe("md-sub-1", M.MARKET_DATA, SLUGS, dialect="camel")
    assert parse(frame) == {
        "subscribe": {
            "requestId": "md-sub-1",
            "subscriptionType": "SUBSCRIPTION_TYPE_MARKET_DATA",
            "marketSlugs": ["market-slug-1", "market-slug-2"],
        }
    }


@pytest.mark.parametrize(
    "sub_type, number",
    [
        (P.ORDER, 1),
        (P.ORDER_SNAPSHOT, 2),
        (P.POSITION, 3),
        (P.ACCOUNT_BALANCE, 4),
        (M.MARKET_DATA, 1),
        (M.MARKET_DATA_LITE, 2),
        (M.TRADE, 3),
    ],
)
def test_every_type_in_both_dialects(sub_type: P | M, number: int) -> None:
    snake = parse(encode_subscribe("r-1", sub_type))
    camel = parse(encode_subscribe("r-1", sub_type, dialect="camel"))
    assert snake == {"subscribe": {"request_id": "r-1", "subscription_type": number}}
    assert camel == {"subscribe": {"requestId": "r-1", "subscriptionType": sub_type.value}}
    assert isinstance(snake["subscribe"]["subscription_type"], int)


@pytest.mark.parametrize("dialect", ["snake", "camel"])
def test_rfq_goes_by_name_in_both_dialects(dialect: str) -> None:
    body = parse(encode_subscribe("rfq-1", P.RFQ, dialect=dialect))["subscribe"]
    key = "subscription_type" if dialect == "snake" else "subscriptionType"
    assert body[key] == "SUBSCRIPTION_TYPE_RFQ"
    assert set(body) == {key, "request_id" if dialect == "snake" else "requestId"}


def test_debounced_only_when_asked() -> None:
    assert parse(encode_subscribe("md-1", M.MARKET_DATA, SLUGS, debounced=True)) == {
        "subscribe": {
            "request_id": "md-1",
            "subscription_type": 1,
            "market_slugs": SLUGS,
            "responses_debounced": True,
        }
    }
    assert parse(
        encode_subscribe("md-1", M.MARKET_DATA, SLUGS, dialect="camel", debounced=True)
    ) == {
        "subscribe": {
            "requestId": "md-1",
            "subscriptionType": "SUBSCRIPTION_TYPE_MARKET_DATA",
            "marketSlugs": SLUGS,
            "responsesDebounced": True,
        }
    }
    for dialect in ("snake", "camel"):
        frame = encode_subscribe("md-1", M.MARKET_DATA, SLUGS, dialect=dialect)
        assert "ebounced" not in frame


@pytest.mark.parametrize("slugs", [None, [], ()])
@pytest.mark.parametrize("dialect", ["snake", "camel"])
def test_no_slugs_key_when_none(slugs: list[str] | None, dialect: str) -> None:
    frame = encode_subscribe("o-1", P.ORDER, slugs, dialect=dialect)
    assert "lugs" not in frame
    assert len(parse(frame)["subscribe"]) == 2


def test_slugs_from_any_iterable_keep_order() -> None:
    frame = encode_subscribe("t-1", M.TRADE, (s for s in ["b", "a", "c"]))
    assert parse(frame)["subscribe"]["market_slugs"] == ["b", "a", "c"]


def test_non_ascii_survives() -> None:
    frame = encode_subscribe("é-1", M.TRADE, ["élection-2028"], dialect="camel")
    assert parse(frame)["subscribe"]["marketSlugs"] == ["élection-2028"]
    assert parse(frame)["subscribe"]["requestId"] == "é-1"


def test_unsubscribe_shapes() -> None:
    assert parse(encode_unsubscribe("md-sub-1")) == {"unsubscribe": {"request_id": "md-sub-1"}}
    assert parse(encode_unsubscribe("md-sub-1", dialect="snake")) == {
        "unsubscribe": {"request_id": "md-sub-1"}
    }
    assert parse(encode_unsubscribe("md-sub-1", dialect="camel")) == {
        "unsubscribe": {"requestId": "md-sub-1"}
    }


@pytest.mark.parametrize("dialect", ["SNAKE", "kebab", "", "proto"])
def test_bad_dialect_is_a_value_error(dialect: str) -> None:
    with pytest.raises(ValueError, match="dialect"):
        encode_subscribe("r", M.TRADE, ["s"], dialect=dialect)
    with pytest.raises(ValueError, match="dialect"):
        encode_unsubscribe("r", dialect=dialect)


@pytest.mark.parametrize("bad", [1, "SUBSCRIPTION_TYPE_TRADE", None])
def test_subscription_type_must_be_an_enum_member(bad: Any) -> None:
    with pytest.raises(TypeError, match="subscription_type"):
        encode_subscribe("r", bad, ["s"])


def test_frames_are_compact_json() -> None:
    frame = encode_subscribe("md-sub-1", M.MARKET_DATA, SLUGS)
    assert frame == (
        '{"subscribe":{"request_id":"md-sub-1","subscription_type":1,'
        '"market_slugs":["market-slug-1","market-slug-2"]}}'
    )
