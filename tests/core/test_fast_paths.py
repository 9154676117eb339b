"""The codec's shortcuts give exactly what the general code gives: the MarketData
fast path against the generated hook, the cached decimals and amounts against
building them, the direct timestamp parse against its tolerant path; and the
generated hooks show their source in tracebacks."""

from __future__ import annotations

import traceback
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmsync import marketdata, structure
from pmsync import models as m
from pmsync.extra import Extra

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True),
    st.sampled_from(["0.54", "0.5", "0.50", "1e3", "NaN", "-Infinity", "x", " 7 ", "",
                     "USD", "MARKET_STATE_OPEN", "2024-01-15T10:30:00Z", "2024-01-15 10:30",
                     "2024-01-15T10:30:00z", " 2024-01-15T10:30:00Z", "2024-01-15T10:30:00"]),
)
AMOUNTS = st.one_of(SCALARS, st.fixed_dictionaries(
    {}, optional={"value": SCALARS, "currency": SCALARS, "extra": SCALARS}))
DECIMAL_TEXTS = st.sampled_from(["0.55", "0.5", "150000", "500000", "0.58", "1e3", "NaN", "x"])
# Mostly the documented shape, sometimes not: the fast path's cases and its edges.
EXACT_AMOUNTS = st.one_of(
    st.fixed_dictionaries({"value": DECIMAL_TEXTS, "currency": st.sampled_from(["USD", None, 5])}),
    AMOUNTS)
EXACT_LEVELS = st.one_of(st.lists(st.one_of(
    st.fixed_dictionaries({"px": EXACT_AMOUNTS, "qty": DECIMAL_TEXTS | SCALARS}),
    st.fixed_dictionaries({}, optional={"px": AMOUNTS, "qty": SCALARS, "other": SCALARS}),
    SCALARS), max_size=3), SCALARS)
STATS_NAMES = ("last_trade_px", "shares_traded", "open_interest", "high_px", "low_px")
MD_NAMES = ("market_slug", "bids", "offers", "state", "stats", "transact_time")


def stats(names: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.fixed_dictionaries({names[0]: EXACT_AMOUNTS, names[1]: DECIMAL_TEXTS | SCALARS,
                               names[2]: DECIMAL_TEXTS | SCALARS, names[3]: EXACT_AMOUNTS,
                               names[4]: EXACT_AMOUNTS}),
        st.fixed_dictionaries({}, optional={name: AMOUNTS for name in names + ("unknown",)}),
        SCALARS)


VALID_TEXTS = st.sampled_from(["0.55", "0.5", "0.50", "150000", "1e3", " 7 ", "0"])
VALID_AMOUNTS = st.fixed_dictionaries({"value": VALID_TEXTS, "currency": st.just("USD")})
VALID_LEVELS = st.lists(st.fixed_dictionaries({"px": VALID_AMOUNTS, "qty": VALID_TEXTS}),
                        max_size=3)


@st.composite
def market_data(draw: st.DrawFn, camel: bool) -> Any:
    """A payload of the documented shape in one dialect, often with one part
    replaced by something else (a broad value, or a partial object)."""
    spell = structure.to_camel if camel else (lambda name: name)
    stats_names = tuple(map(spell, STATS_NAMES))
    documented = {
        spell("market_slug"): draw(st.sampled_from(["m", "market-slug-1"])),
        "bids": draw(VALID_LEVELS), "offers": draw(VALID_LEVELS),
        "state": draw(st.sampled_from([1, 99, "MARKET_STATE_OPEN", "NEW"])),
        "stats": {name: draw(VALID_AMOUNTS if name.endswith(("_px", "Px")) else VALID_TEXTS)
                  for name in stats_names},
        spell("transact_time"): draw(st.sampled_from(["2024-01-15T10:30:00Z",
                                                       "2024-01-15T10:30:00+02:00"])),
    }
    broad = {spell("market_slug"): SCALARS, "bids": EXACT_LEVELS, "offers": EXACT_LEVELS,
             "state": SCALARS, "stats": stats(stats_names), spell("transact_time"): SCALARS,
             "other": SCALARS}
    for key in draw(st.lists(st.sampled_from(sorted(broad)), max_size=2, unique=True)):
        documented[key] = draw(broad[key])
    bids = documented["bids"]
    if draw(st.booleans()) and isinstance(bids, list) and bids:  # one level made unusual
        level = dict(bids[0]) if isinstance(bids[0], dict) else {}
        level[draw(st.sampled_from(["px", "qty", "other"]))] = draw(AMOUNTS)
        documented["bids"] = [level] + bids[1:]
    return documented


def outcome(hook: Any, value: Any) -> Any:
    try:
        result = hook(value, None)
    except Exception as exc:  # noqa: BLE001 - compared below
        return ("raised", type(exc), str(exc))
    return ("built", result, repr(result))


GENERAL = structure.hook(m.MarketData)
STATS_GENERAL = structure.hook(m.MarketStats)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(market_data(camel=False), market_data(camel=True), SCALARS,
                 st.fixed_dictionaries({}, optional={
                     name: SCALARS for name in MD_NAMES + tuple(map(structure.to_camel, MD_NAMES))})))
def test_market_data_fast_path_equals_the_generated_hook(value: Any) -> None:
    for _ in range(2):  # the second pass is served from the level and stats caches
        assert outcome(marketdata.market_data, value) == outcome(GENERAL, value)
    assert len(marketdata.STATS_CACHE) <= marketdata.LEVEL_CACHE_MAX
    # the newest entries are what the generated hook builds of their texts
    for key, stats in list(marketdata.STATS_CACHE.items())[-5:]:
        texts = {"last_trade_px": {"value": key[0], "currency": key[1]}, "shares_traded": key[2],
                 "open_interest": key[3], "high_px": {"value": key[4], "currency": key[5]},
                 "low_px": {"value": key[6], "currency": key[7]}}
        assert repr(STATS_GENERAL(texts, None)) == repr(stats)
        last, high, low = stats.last_trade_px, stats.high_px, stats.low_px
        assert not (stats.extra or last.extra or high.extra or low.extra)


@pytest.mark.parametrize("camel", [False, True])
def test_the_fast_path_takes_the_documented_shape_in_both_dialects(camel: bool) -> None:
    spell = structure.to_camel if camel else (lambda name: name)
    level = {"px": {"value": "0.5", "currency": "USD"}, "qty": "1"}
    price = {"value": "0.6", "currency": "USD"}
    value = {spell("market_slug"): "m", "bids": [level], "offers": [], "state": 1,
             "stats": {spell(name): price if name.endswith("px") else "3" for name in STATS_NAMES},
             spell("transact_time"): "2024-01-15T10:30:00Z"}
    data = marketdata._exact(value)  # raises if it is not taken
    assert data == GENERAL(value, None) and type(data) is m.MarketData


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.fixed_dictionaries({"px": EXACT_AMOUNTS, "qty": DECIMAL_TEXTS | SCALARS}),
                          st.fixed_dictionaries({"px": AMOUNTS, "qty": VALID_TEXTS})), max_size=4))
def test_cached_levels_are_what_the_generated_hook_builds(levels: Any) -> None:
    value = {"market_slug": "m", "bids": levels, "offers": list(reversed(levels)), "state": 1,
             "stats": {name: {"value": "0.5", "currency": "USD"} if name.endswith("px") else "3"
                       for name in STATS_NAMES}, "transact_time": "2024-01-15T10:30:00Z"}
    for _ in range(2):  # the second pass is served from the caches where it can be
        assert outcome(marketdata.market_data, value) == outcome(GENERAL, value)
    assert len(marketdata.LEVEL_CACHE) <= marketdata.LEVEL_CACHE_MAX
    for (px, currency, qty), level in marketdata.LEVEL_CACHE.items():
        assert level == m.BookLevel(px=m.Amount(value=Decimal(px), currency=currency),
                                    qty=Decimal(qty))
        assert str(level.px.value) == str(Decimal(px)) and str(level.qty) == str(Decimal(qty))
        assert not level.px.extra and not level.extra


def test_the_level_cache_keeps_spellings_apart_and_stays_bounded() -> None:
    def level(px: str, qty: str, currency: Any = "USD") -> Any:
        value = {"market_slug": "m", "bids": [{"px": {"value": px, "currency": currency},
                                               "qty": qty}], "offers": [], "state": 1,
                 "stats": {name: {"value": "0.5", "currency": "USD"} if name.endswith("px")
                           else "3" for name in STATS_NAMES},
                 "transact_time": "2024-01-15T10:30:00Z"}
        return marketdata.market_data(value).bids[0]

    assert str(level("0.50", "1").px.value) == "0.50" and str(level("0.5", "1").px.value) == "0.5"
    assert str(level("0.5", "1.0").qty) == "1.0" and level("0.5", "1", None).px.currency is None
    for i in range(marketdata.LEVEL_CACHE_MAX + 10):
        level(f"0.{i}", "7")
    assert len(marketdata.LEVEL_CACHE) <= marketdata.LEVEL_CACHE_MAX
    long_text = "1" * (structure.DECIMAL_TEXT_MAX + 1)
    assert level("0.5", long_text).qty == Decimal(long_text)
    assert all(key[2] != long_text for key in marketdata.LEVEL_CACHE)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=12), st.from_regex(r"\s?-?\d{1,30}(\.\d{0,30})?(E[+-]?\d{1,3})?\s?")))
def test_cached_decimals_are_what_decimal_builds(text: str) -> None:
    for _ in range(2):  # the second call may be served from the cache
        try:
            expected: Any = Decimal(text)
            if not expected.is_finite():
                expected = ValueError
        except ArithmeticError:
            expected = ValueError
        try:
            got: Any = structure.decimal(text)
        except ValueError:
            got = ValueError
        if expected is ValueError:
            assert got is ValueError and text not in structure.DECIMAL_CACHE
        else:
            assert got == expected and str(got) == str(expected) and type(got) is Decimal


def test_the_decimal_cache_keeps_spellings_apart_and_stays_bounded() -> None:
    assert str(structure.decimal("0.50")) == "0.50" and str(structure.decimal("0.5")) == "0.5"
    for i in range(structure.DECIMAL_CACHE_MAX + 10):
        structure.decimal(f"{i}.25")
    assert len(structure.DECIMAL_CACHE) <= structure.DECIMAL_CACHE_MAX
    long_text = "1" * (structure.DECIMAL_TEXT_MAX + 1)
    assert structure.decimal(long_text) == Decimal(long_text)
    assert long_text not in structure.DECIMAL_CACHE
    for bad in ("NaN", "Infinity", "-inf", "sNaN"):
        with pytest.raises(ValueError):
            structure.decimal(bad)
        assert bad not in structure.DECIMAL_CACHE


@settings(max_examples=500, deadline=None)
@given(AMOUNTS)
def test_cached_amounts_are_what_the_constructor_builds(value: Any) -> None:
    for _ in range(2):  # the second call may be served from the cache
        try:
            got: Any = structure.amount(value)
        except (TypeError, ValueError) as exc:
            got = type(exc)
        if isinstance(value, dict) and got not in (TypeError, ValueError):
            raw = value.get("value")
            extra = {structure.to_snake(k): v for k, v in value.items()
                     if k not in ("value", "currency")}
            assert got == m.Amount(value=structure.decimal(raw if raw is not None else "0"),
                                   currency=value.get("currency"), extra=Extra(extra))
            assert str(got.value) == str(structure.decimal(raw if raw is not None else "0"))
    assert len(structure.AMOUNT_CACHE) <= structure.DECIMAL_CACHE_MAX
    assert all(not amount.extra for amount in structure.AMOUNT_CACHE.values())


@settings(max_examples=500, deadline=None)
@given(st.one_of(
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.datetimes().map(lambda d: " " + d.isoformat() + "z "),
    st.text(max_size=30),
))
def test_timestamp_direct_parse_equals_the_tolerant_path(text: str) -> None:
    def run(hook: Any) -> Any:
        try:
            result = hook(text)
        except ValueError as exc:
            return str(exc)
        assert isinstance(result, datetime) and result.tzinfo is not None
        return result, result.utcoffset()

    assert run(structure.timestamp) == run(structure.timestamp_tolerant)


def test_a_traceback_through_a_generated_hook_shows_its_source() -> None:
    with pytest.raises(ValueError) as caught:
        structure.hook(m.Trade)({"marketSlug": "m", "tradeTime": "not a time"}, None)
    text = "".join(traceback.format_exception(caught.value))
    assert 'File "<pmsync generated structure pmsync.models.Trade>"' in text
    # the generated line that called the field's hook, and the one that named the field
    assert "v3 = h3(item, t3)" in text
    assert "raise FieldError(f'{name}.{names[k]}: {exc}') from exc" in text
    assert "Trade.trade_time: not an RFC 3339 timestamp" in str(caught.value)
