"""The hot path's shortcuts give exactly what the general code gives (issue 6):
the MarketData hook against the generated one, the cached decimals against
``Decimal(text)``, and ``_datetime``'s direct parse against its tolerant path."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmsync import codec
from pmsync import models as m

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True),
    st.sampled_from(["0.54", "0.5", "0.50", "1e3", "NaN", "-Infinity", "x", " 7 ", "",
                     "USD", "MARKET_STATE_OPEN", "2024-01-15T10:30:00Z", "2024-01-15 10:30",
                     "2024-01-15T10:30:00z", " 2024-01-15T10:30:00Z", "2024-01-15T10:30:00"]),
)
AMOUNTS = st.one_of(SCALARS, st.fixed_dictionaries(
    {}, optional={"value": SCALARS, "currency": SCALARS, "extra": SCALARS}))
LEVELS = st.one_of(SCALARS, st.lists(st.one_of(SCALARS, st.fixed_dictionaries(
    {}, optional={"px": AMOUNTS, "qty": SCALARS})), max_size=3))
DECIMAL_TEXTS = st.sampled_from(["0.55", "0.5", "150000", "500000", "0.58", "1e3", "NaN", "x"])
EXACT_AMOUNTS = st.fixed_dictionaries({"value": DECIMAL_TEXTS, "currency": st.sampled_from(
    ["USD", None, 5])})
STATS = st.one_of(
    SCALARS,
    st.fixed_dictionaries({}, optional={
        key: AMOUNTS for key in ("last_trade_px", "lastTradePx", "shares_traded", "openInterest",
                                 "high_px", "lowPx", "unknown")}),
    # All five fields in one dialect (the exact path's subscript case).
    *(st.fixed_dictionaries({
        names[0]: EXACT_AMOUNTS, names[1]: DECIMAL_TEXTS | AMOUNTS,
        names[2]: DECIMAL_TEXTS | SCALARS, names[3]: EXACT_AMOUNTS, names[4]: EXACT_AMOUNTS,
    }) for names in codec._STATS_SPELLINGS),
)
KEYS = {
    "market_slug": SCALARS, "marketSlug": SCALARS, "bids": LEVELS, "offers": LEVELS,
    "state": SCALARS, "stats": STATS, "transact_time": SCALARS, "transactTime": SCALARS,
    "other": SCALARS,
}


def outcome(hook: Any, value: Any) -> Any:
    try:
        result = hook(value, None)
    except Exception as exc:  # noqa: BLE001 - compared below
        return ("raised", type(exc), str(exc))
    return ("built", result, repr(result))


SNAKE_ONLY = {k: v for k, v in KEYS.items() if k in codec._MD_SNAKE}
CAMEL_ONLY = {k: v for k, v in KEYS.items() if k in codec._MD_CAMEL}


@settings(max_examples=1500, deadline=None)
@given(st.one_of(st.fixed_dictionaries({}, optional=SNAKE_ONLY),
                 st.fixed_dictionaries({}, optional=CAMEL_ONLY),
                 st.fixed_dictionaries({}, optional=KEYS), SCALARS))
def test_market_data_hook_equals_the_generated_hook(value: Any) -> None:
    assert outcome(codec._market_data, value) == outcome(codec._market_data_generic, value)


def test_market_data_hook_takes_the_fast_path_for_both_dialects() -> None:
    snake = {"market_slug": "m", "bids": [{"px": {"value": "0.5", "currency": "USD"}, "qty": "1"}],
             "offers": [], "state": 1, "stats": {"high_px": {"value": "0.6"}},
             "transact_time": "2024-01-15T10:30:00Z"}
    camel = {"marketSlug": "m", "bids": snake["bids"], "offers": [], "state": "MARKET_STATE_OPEN",
             "stats": {"highPx": {"value": "0.6"}}, "transactTime": "2024-01-15T10:30:00Z"}
    assert codec._market_data(snake) == codec._market_data(camel) == codec._market_data_generic(
        camel, None)
    assert type(codec._market_data(snake)) is m.MarketData


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
            got: Any = codec._decimal(text)
        except ValueError:
            got = ValueError
        if expected is ValueError:
            assert got is ValueError and text not in codec._DECIMAL_CACHE
        else:
            assert got == expected and str(got) == str(expected) and type(got) is Decimal


def test_the_decimal_cache_keeps_spellings_apart_and_stays_bounded() -> None:
    assert str(codec._decimal("0.50")) == "0.50" and str(codec._decimal("0.5")) == "0.5"
    for i in range(codec._DECIMAL_CACHE_MAX + 10):
        codec._decimal(f"{i}.25")
    assert len(codec._DECIMAL_CACHE) <= codec._DECIMAL_CACHE_MAX
    long_text = "1" * (codec._DECIMAL_TEXT_MAX + 1)
    assert codec._decimal(long_text) == Decimal(long_text)
    assert long_text not in codec._DECIMAL_CACHE
    for bad in ("NaN", "Infinity", "-inf", "sNaN"):
        with pytest.raises(ValueError):
            codec._decimal(bad)
        assert bad not in codec._DECIMAL_CACHE


@settings(max_examples=500, deadline=None)
@given(st.one_of(
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.datetimes().map(lambda d: " " + d.isoformat() + "z "),
    st.text(max_size=30),
))
def test_datetime_direct_parse_equals_the_tolerant_path(text: str) -> None:
    def run(hook: Any) -> Any:
        try:
            result = hook(text)
        except ValueError as exc:
            return str(exc)
        assert isinstance(result, datetime) and result.tzinfo is not None
        return result, result.utcoffset()

    assert run(codec._datetime) == run(codec._datetime_tolerant)


# The generated hooks convert str, int, bool, Decimal and enum fields inline;
# the reference sends every field through its hook.
INLINE_MODELS = [m.MarketDataLite, m.Trade, m.Order, m.Execution, m.Position, m.Balance,
                 m.BalanceChange, m.TradeSide, m.MarketMetadata, m.Rfq, m.Quote, m.PendingWithdrawal]
FIELD_VALUES = st.one_of(SCALARS, st.integers(), st.text(max_size=6), AMOUNTS,
                         st.sampled_from([1, 2, "ORDER_SIDE_BUY", "MARKET_STATE_OPEN", 99]))


@pytest.mark.parametrize("cls", INLINE_MODELS, ids=lambda cls: cls.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_generated_hooks_with_inline_conversions_equal_the_reference(cls: Any, data: Any) -> None:
    import attrs

    names = [f.name for f in attrs.fields(cls)]
    keys = names + [codec._to_camel(name) for name in names] + ["unknown"]
    value = data.draw(st.dictionaries(st.sampled_from(keys), FIELD_VALUES, max_size=8))
    fast = codec.converter.get_structure_hook(cls)
    reference = codec._model_hook(codec.converter, cls, inline=False)
    assert outcome(fast, value) == outcome(reference, value)


# The lazy MarketData parts (exact path or tolerant path) against the eager
# generated hooks: the same values once built, and a failure exactly when the
# eager hook fails.
EAGER_LEVELS = codec.converter.get_structure_hook(tuple[m.BookLevel, ...])
EAGER_STATS = codec.converter.get_structure_hook(m.MarketStats)


def built(lazy: Any, build: Any) -> Any:
    def hook(value: Any, _: Any) -> Any:
        result = lazy(value)
        return build(result) if type(result) is m._Prepared else result

    return hook


def succeeds(hook: Any, value: Any) -> Any:
    try:
        return ("built", hook(value, None))
    except Exception:  # noqa: BLE001
        return ("raised", None)


@settings(max_examples=1000, deadline=None)
@given(LEVELS)
def test_lazy_levels_equal_the_eager_hook(value: Any) -> None:
    lazy = succeeds(built(codec._lazy_levels, m._build_levels), value)
    assert lazy == succeeds(EAGER_LEVELS, value)
    if lazy[0] == "built":
        assert type(lazy[1]) is tuple


@settings(max_examples=1000, deadline=None)
@given(STATS)
def test_lazy_stats_equal_the_eager_hook(value: Any) -> None:
    lazy = succeeds(built(codec._lazy_stats, m._build_stats), value)
    assert lazy == succeeds(EAGER_STATS, value)
