"""MarketData as decoded: equal to one built by its constructor, frozen, failing
exactly when the generated hooks of its parts fail; the book cache over it."""

from __future__ import annotations

import copy
import json
import pickle
from decimal import Decimal
from typing import Any

import attrs
import pytest

from pmsync import codec
from pmsync import models as m
from pmsync.book import BookCache
from pmsync.codec import decode, to_plain
from pmsync.errors import DecodeError

from .test_codec_examples import CAMEL_EXAMPLES, snake_text

# The eager hooks (the generated ones every other model uses).
EAGER_LEVELS = codec.converter.get_structure_hook(tuple[m.BookLevel, ...])
EAGER_STATS = codec.converter.get_structure_hook(m.MarketStats)

LEVEL = {"px": {"value": "0.54", "currency": "USD"}, "qty": "1000"}
STATS = {
    "lastTradePx": {"value": "0.55", "currency": "USD"},
    "shares_traded": "150000",
    "openInterest": 500000,
    "high_px": "0.58",
    "lowPx": {"value": "0.52"},
}


def fresh(text: str = CAMEL_EXAMPLES[0]) -> m.MarketData:
    data = decode(text, "markets").data
    assert type(data) is m.MarketData
    return data


def eager(data: m.MarketData) -> m.MarketData:
    """An eagerly built copy, through the constructor."""
    return m.MarketData(
        market_slug=data.market_slug,
        bids=tuple(m.BookLevel(px=lv.px, qty=lv.qty) for lv in data.bids),
        offers=tuple(m.BookLevel(px=lv.px, qty=lv.qty) for lv in data.offers),
        state=data.state,
        stats=attrs.evolve(data.stats) if data.stats is not None else None,
        transact_time=data.transact_time,
    )


def test_repr_asdict_to_plain_evolve_pickle_copy_match_eager() -> None:
    reference = eager(fresh())
    assert repr(fresh()) == repr(reference)
    assert attrs.asdict(fresh()) == attrs.asdict(reference)
    assert to_plain(fresh()) == to_plain(reference)
    assert to_plain(decode(CAMEL_EXAMPLES[0], "markets"))["data"] == to_plain(reference)
    assert attrs.evolve(fresh(), market_slug="x") == attrs.evolve(reference, market_slug="x")
    unpickled = pickle.loads(pickle.dumps(fresh()))
    assert type(unpickled) is m.MarketData and unpickled == reference
    assert copy.copy(fresh()) == reference and copy.deepcopy(fresh()) == reference
    assert attrs.fields(m.MarketData).bids.name == "bids"
    assert [f.name for f in attrs.fields(m.MarketData)] == [
        "market_slug", "bids", "offers", "state", "stats", "transact_time", "extra",
    ]


def test_decoded_market_data_is_frozen() -> None:
    data = fresh()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        data.bids = ()  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        data.stats = None  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del data.offers  # type: ignore[misc]


@pytest.mark.parametrize("dialect", ["camel", "snake"])
def test_decoded_parts_equal_eagerly_built_ones(dialect: str) -> None:
    text = CAMEL_EXAMPLES[0] if dialect == "camel" else snake_text(CAMEL_EXAMPLES[0], "markets")
    data = fresh(text)
    assert data.best_bid == Decimal("0.54") and data.best_ask == Decimal("0.56")
    reference = eager(fresh(text))
    assert data == reference and hash(data) == hash(reference)
    assert type(data.bids) is tuple and all(type(lv) is m.BookLevel for lv in data.bids)
    assert type(data.stats) is m.MarketStats
    assert type(data.bids[0].px) is m.Amount and type(data.bids[0].qty) is Decimal


def test_the_constructor_still_works_eagerly() -> None:
    level = m.BookLevel(px=m.Amount(value=Decimal("1")), qty=Decimal("2"))
    data = m.MarketData(market_slug="a", bids=(level,))
    assert data.bids == (level,) and data.best_bid == Decimal("1") and data.best_ask is None


def test_empty_and_null_parts() -> None:
    data = decode('{"marketData":{"marketSlug":"s","bids":[],"offers":null}}', "markets").data
    assert data.bids == () and data.offers == () and data.stats is None
    assert data.best_bid is None and data.best_ask is None
    data = decode('{"marketData":{"bids":[{"qty":"1"}],"stats":{}}}', "markets").data
    assert data.best_bid is None
    assert data.bids == (m.BookLevel(qty=Decimal("1")),)
    assert data.stats == m.MarketStats()


GOOD_LEVELS: list[Any] = [
    [LEVEL],
    [LEVEL, {"px": "0.5", "qty": 3}],
    [{"px": 0.25}, {"qty": 1.5}, {}, {"px": None, "qty": None, "other": 1}],
    [{"px": {"value": None, "currency": None}, "qty": "1e3"}],
    [{"px": {"value": 7}, "qty": " 12 "}],
    [{"px": {"value": "1_000"}, "qty": "0"}],
]
BAD_LEVELS: list[Any] = [
    {"px": 1},
    "x",
    [1],
    [None],
    [{"px": {"value": "NaN"}}],
    [{"px": {"value": "abc"}}],
    [{"px": {"value": "1", "currency": 5}}],
    [{"px": {"value": True}}],
    [{"px": [1]}],
    [{"qty": "Infinity"}],
    [{"qty": "1.2.3"}],
    [{"qty": False}],
    [{"qty": {"value": "1"}}],
    [LEVEL, {"px": {"value": "-inf"}}],
]
GOOD_STATS: list[Any] = [
    STATS,
    {},
    {"high_px": None, "lowPx": 1, "sharesTraded": 2.5, "unknown": [1]},
    {"last_trade_px": {"value": "1"}, "lastTradePx": {"value": "2"}},
]
BAD_STATS: list[Any] = [
    [],
    "x",
    {"shares_traded": "NaN"},
    {"openInterest": True},
    {"highPx": {"value": "x"}},
    {"lowPx": {"value": "1", "currency": 1}},
    {"sharesTraded": {"value": "1"}},
]


def _outcome(hook: Any, value: Any) -> Any:
    try:
        return ("ok", hook(value, None))
    except Exception:  # noqa: BLE001
        return ("error", None)


@pytest.mark.parametrize("levels", GOOD_LEVELS + BAD_LEVELS)
def test_levels_fail_exactly_when_eager_fails(levels: Any) -> None:
    eager_result = _outcome(EAGER_LEVELS, levels)
    text = json.dumps({"marketData": {"bids": levels, "offers": levels}})
    if eager_result[0] == "error":
        with pytest.raises(DecodeError, match="MarketData.bids"):
            decode(text, "markets")
        assert levels not in GOOD_LEVELS
    else:
        data = decode(text, "markets").data
        assert data.bids == eager_result[1] and data.offers == eager_result[1]
        assert levels not in BAD_LEVELS


@pytest.mark.parametrize("stats", GOOD_STATS + BAD_STATS)
def test_stats_fail_exactly_when_eager_fails(stats: Any) -> None:
    eager_result = _outcome(EAGER_STATS, stats)
    text = json.dumps({"market_data": {"stats": stats}})
    if eager_result[0] == "error":
        with pytest.raises(DecodeError, match="MarketData.stats"):
            decode(text, "markets")
        assert stats not in GOOD_STATS
    else:
        assert decode(text, "markets").data.stats == eager_result[1]
        assert stats not in BAD_STATS


def test_book_cache_builds_sorted_book_on_request() -> None:
    cache = BookCache()
    text = json.dumps({"marketData": {
        "marketSlug": "s",
        "bids": [{"px": {"value": "0.1"}}, {"px": {"value": "0.3"}}],
        "offers": [{"px": {"value": "0.9"}}, {"px": {"value": "0.6"}}],
    }})
    data = fresh(text)
    cache.update_full(data)
    book = cache.get("s")
    assert book is not None and book.full
    assert [lv.px.value for lv in book.bids] == [Decimal("0.3"), Decimal("0.1")]  # type: ignore[union-attr]
    assert [lv.px.value for lv in book.offers] == [Decimal("0.6"), Decimal("0.9")]  # type: ignore[union-attr]
    assert book.best_bid == Decimal("0.3") and book.best_ask == Decimal("0.6")
    assert cache.get("s") is book  # made once per event
    cache.update_full(fresh(text))
    assert cache.get("s") is not book and cache.get("s") == book
    lite = decode('{"marketDataLite":{"marketSlug":"s","bestBid":{"value":"0.2"}}}', "markets")
    cache.cover(frozenset({"s"}), frozenset({"s"}))
    cache.update_lite(lite.data)
    assert cache.get("s") == book  # not replaced by lite data while market_data covers it
    assert cache.slugs() == ["s"]
    cache.cover(frozenset(), frozenset({"s"}))
    cache.update_lite(lite.data)  # market_data gone: the newest (lite) is the book
    replaced = cache.get("s")
    assert replaced is not None and not replaced.full and replaced.best_bid == Decimal("0.2")
    cache.clear()
    assert cache.get("s") is None and cache.slugs() == []


def test_a_plain_list_given_by_a_user_is_kept_as_given() -> None:
    # A model a user makes (in a test, say) with lists instead of tuples reads
    # back what was given.
    levels: Any = [m.BookLevel(px=m.Amount(value=Decimal("0.5")), qty=Decimal("1"))]
    empty: Any = []
    data = m.MarketData(market_slug="x", bids=levels, offers=empty)
    assert data.bids is levels and data.offers is empty
    assert data.best_bid == Decimal("0.5") and data.best_ask is None
    assert BookCache().get("x") is None
