"""The one fast path of the codec: a market-data payload of the documented shape.

Market data is the bulk of a market stream. :func:`market_data` reads a payload
whose keys are those of the model in one dialect (docs/protocol.md, Responses), at every level
(levels of exactly ``px`` and ``qty``, stats of all five fields), with the same
scalar hooks as the generated one (:mod:`pmsync.structure`), without its key
loop, and serves repeated levels and stats from :data:`LEVEL_CACHE` and
:data:`STATS_CACHE`. Anything else, a ``null`` anywhere, and every error go to
the generated hook, which is the reference: both give the same object, or the
same error (``tests/core/test_fast_paths.py`` checks this with Hypothesis).
"""

from __future__ import annotations

from typing import Any

from . import models as m
from .enums import MarketState
from .extra import EMPTY
from .structure import (
    AMOUNT_CACHE,
    DECIMAL_CACHE,
    DECIMAL_TEXT_MAX,
    amount,
    decimal,
    hook,
    timestamp,
    to_camel,
)

__all__ = ["market_data"]

_general = hook(m.MarketData)
_new = object.__new__
_state = MarketState.__dict__["_wire_table"].get
# The caches of structure.amount and structure.decimal, read first: what those
# functions return for a cached text, without the call.
_amount_cached = AMOUNT_CACHE.get
_decimal_cached = DECIMAL_CACHE.get


def _setters(cls: type[Any], *names: str) -> tuple[Any, ...]:
    return tuple(cls.__dict__[name].__set__ for name in names)


_LEVEL = _setters(m.BookLevel, "px", "qty", "extra")
_STATS_NAMES = ("last_trade_px", "shares_traded", "open_interest", "high_px", "low_px")
_STATS = _setters(m.MarketStats, *_STATS_NAMES, "extra")
_MD_NAMES = ("market_slug", "bids", "offers", "state", "stats", "transact_time")
_MD = _setters(m.MarketData, *_MD_NAMES, "extra")
#: A model's keys in each dialect: (snake set, snake names, camel set, camel names).
_MD_KEYS = (frozenset(_MD_NAMES), _MD_NAMES, frozenset(map(to_camel, _MD_NAMES)),
            tuple(map(to_camel, _MD_NAMES)))
_STATS_KEYS = (frozenset(_STATS_NAMES), _STATS_NAMES, frozenset(map(to_camel, _STATS_NAMES)),
               tuple(map(to_camel, _STATS_NAMES)))


def _names(value: dict[str, Any], spellings: tuple[Any, ...]) -> tuple[str, ...]:
    """The names of ``value``'s keys when they are exactly a model's in one dialect."""
    keys = value.keys()
    if keys == spellings[0]:
        return spellings[1]  # type: ignore[no-any-return]
    if keys == spellings[2]:
        return spellings[3]  # type: ignore[no-any-return]
    raise _NotExact


class _NotExact(Exception):
    """The payload is not of the documented shape: the generated hook decides."""


# Levels by (price text, currency, size text). A BookLevel of texts without
# unknown fields is immutable and equal to any other of the same texts, so one
# object serves every book that carries that level: consecutive books of a market
# share most of their levels. Bounded like structure's caches (texts come from
# the network): emptied at LEVEL_CACHE_MAX entries.
LEVEL_CACHE: dict[tuple[str, Any, str], m.BookLevel] = {}
LEVEL_CACHE_MAX = 1024
_level_cached = LEVEL_CACHE.get


def _levels(value: Any) -> tuple[m.BookLevel, ...]:
    if type(value) is not list:
        raise _NotExact
    levels = []
    for item in value:
        px = item["px"]
        qty = item["qty"]
        if len(item) != 2 or len(px) != 2 or qty is None:
            raise _NotExact
        key = (px["value"], px["currency"], qty)
        level = _level_cached(key)
        if level is None:
            level = _level(px, qty, key)
        levels.append(level)
    return tuple(levels)


def _level(px: Any, qty: Any, key: tuple[Any, Any, Any]) -> m.BookLevel:
    """A new level (cached when its texts are plain strings, as the amount's are)."""
    set_px, set_qty, set_extra = _LEVEL
    level = _new(m.BookLevel)
    price = _amount_cached((key[0], key[1])) or amount(px)
    set_px(level, price)
    set_qty(level, _decimal_cached(qty) or decimal(qty))
    set_extra(level, EMPTY)
    # The amount has no unknown fields (px has exactly value and currency).
    if (type(qty) is str and len(qty) <= DECIMAL_TEXT_MAX and type(key[0]) is str
            and len(key[0]) <= DECIMAL_TEXT_MAX):
        if len(LEVEL_CACHE) >= LEVEL_CACHE_MAX:
            LEVEL_CACHE.clear()
        LEVEL_CACHE[key] = level
    return level


# Stats by their texts, as levels: a market's statistics change on trades, and
# books come far more often, so most books carry the stats of the one before.
# Only stats of plain texts (prices of exactly value and currency) are cached.
STATS_CACHE: dict[tuple[Any, ...], m.MarketStats] = {}
_stats_cached = STATS_CACHE.get


def _stats(value: Any) -> m.MarketStats:
    names = _names(value, _STATS_KEYS)
    last, traded, interest = value[names[0]], value[names[1]], value[names[2]]
    high, low = value[names[3]], value[names[4]]
    key = None
    if (type(last) is dict and type(high) is dict and type(low) is dict
            and len(last) == 2 and len(high) == 2 and len(low) == 2):
        key = (last["value"], last["currency"], traded, interest, high["value"],
               high["currency"], low["value"], low["currency"])
        cached = _stats_cached(key)
        if cached is not None:
            return cached
    stats = _new(m.MarketStats)
    _STATS[0](stats, amount(last))
    _STATS[1](stats, _decimal_cached(traded) or decimal(traded))
    _STATS[2](stats, _decimal_cached(interest) or decimal(interest))
    _STATS[3](stats, amount(high))
    _STATS[4](stats, amount(low))
    _STATS[5](stats, EMPTY)
    # The amounts have no unknown fields (exactly value and currency, or a key error above).
    if key is not None and all(type(text) is str and len(text) <= DECIMAL_TEXT_MAX
                               for text in (key[0], traded, interest, key[4], key[6])):
        if len(STATS_CACHE) >= LEVEL_CACHE_MAX:
            STATS_CACHE.clear()
        STATS_CACHE[key] = stats
    return stats


def _exact(value: Any) -> m.MarketData:
    """The MarketData of a payload of the documented shape; raises otherwise."""
    names = _names(value, _MD_KEYS)
    slug, state = value[names[0]], value[names[3]]
    if type(slug) is not str or (type(state) is not int and type(state) is not str):
        raise _NotExact
    data = _new(m.MarketData)
    _MD[0](data, slug)
    _MD[1](data, _levels(value[names[1]]))
    _MD[2](data, _levels(value[names[2]]))
    _MD[3](data, _state(state, state))
    _MD[4](data, _stats(value[names[4]]))
    _MD[5](data, timestamp(value[names[5]]))
    _MD[6](data, EMPTY)
    return data


def market_data(value: Any, _: Any = None) -> m.MarketData:
    """Structure a market-data payload: the documented shape directly, anything
    else (and every error) by the generated hook."""
    if type(value) is dict:
        try:
            return _exact(value)
        except Exception:  # noqa: BLE001 - the generated hook decides, and names the error
            pass
    return _general(value, None)  # type: ignore[no-any-return]
