"""Text ⇄ typed messages, in both JSON dialects (WIRE.md §3, §4, §6). No I/O.

:func:`decode` turns one frame into an :class:`Event`; it reads the snake and
camel dialects and any mix of them, and the legacy payload spellings. It raises
:class:`~pmsync.errors.DecodeError` and nothing else.
:func:`encode_subscribe` and :func:`encode_unsubscribe` build requests.

``orjson`` is used to parse when installed (the ``fast`` extra); results are the
same as with :mod:`json`.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import types
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Union, get_args, get_origin

import attrs
import cattrs

from . import models as m
from .enums import (
    MarketState,
    MarketSubscriptionType,
    PrivateSubscriptionType,
    SubscriptionType,
    WireEnum,
)
from .errors import DecodeError
from .extra import EMPTY, Extra, extra_field

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
# Key spelling

_SNAKE_CACHE: dict[str, str] = {}
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])([A-Z])")


def to_snake(key: str) -> str:
    """``"marketSlug"`` → ``"market_slug"``; snake keys are returned unchanged."""
    try:
        return _SNAKE_CACHE[key]
    except KeyError:
        snake = _CAMEL_RE.sub(r"_\1", key).lower() if not key.islower() else key
        if len(_SNAKE_CACHE) < 10_000:  # bounded: keys come from the network
            _SNAKE_CACHE[key] = snake
        return snake


def _to_camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# --------------------------------------------------------------------------
# The converter: one, built once, with hooks generated per model class.


# Decimals by their exact text. Prices and sizes repeat across a stream, and a
# dict look-up costs a third of ``Decimal(text)`` plus its finiteness check.
# Decimals are immutable and the key is the exact text ("0.50" and "0.5" stay
# distinct), so a cached value is the one ``Decimal(text)`` would build. Only
# finite numbers of at most _DECIMAL_TEXT_MAX characters are kept; the cache is
# emptied when it reaches _DECIMAL_CACHE_MAX entries (texts come from the network).
_DECIMAL_CACHE: dict[str, Decimal] = {}
_decimal_cached = _DECIMAL_CACHE.get
_DECIMAL_CACHE_MAX = 8192
_DECIMAL_TEXT_MAX = 40


def _decimal_text(value: str) -> Decimal:
    """``Decimal(value)`` for a finite number, cached; ``ValueError`` otherwise."""
    try:
        result = Decimal(value)  # Decimal() itself ignores surrounding whitespace
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {value[:40]!r}") from None
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value[:40]!r}")
    if len(value) <= _DECIMAL_TEXT_MAX:
        if len(_DECIMAL_CACHE) >= _DECIMAL_CACHE_MAX:
            _DECIMAL_CACHE.clear()
        _DECIMAL_CACHE[value] = result
    return result


def _decimal(value: Any, _: Any = None) -> Decimal:
    if type(value) is str:  # the common case first
        cached = _decimal_cached(value)
        return cached if cached is not None else _decimal_text(value)
    if isinstance(value, str):
        return _decimal(str(value))
    if isinstance(value, bool):
        raise TypeError("expected a number, got a boolean")
    if isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        # The shortest decimal form of the number, never its binary expansion.
        result = Decimal(repr(value))
    elif isinstance(value, Decimal):
        result = value
    else:
        raise TypeError(f"expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


_new = object.__new__
_set_amount_value: Callable[[Any, Any], None] = getattr(m.Amount, "value").__set__
_set_amount_currency: Callable[[Any, Any], None] = getattr(m.Amount, "currency").__set__
_set_amount_extra: Callable[[Any, Any], None] = getattr(m.Amount, "extra").__set__
_AMOUNT_KEYS = frozenset(("value", "currency"))
_LEVEL_KEYS = frozenset(("px", "qty"))


def _unknown(value: dict[str, Any], known: frozenset[str]) -> Extra:
    """The keys of ``value`` not in ``known``, snake-spelt, as an :class:`~pmsync.extra.Extra`."""
    extra = {to_snake(k): v for k, v in value.items() if k not in known}
    return Extra.adopt(extra) if extra else EMPTY


def _amount(value: Any, _: Any = None) -> m.Amount:
    if isinstance(value, dict):
        raw = value.get("value")
        currency = value.get("currency")
        if currency is not None and type(currency) is not str and not isinstance(currency, str):
            raise TypeError(f"currency must be a string, got {type(currency).__name__}")
        amount = _new(m.Amount)
        # Same object as Amount(value=..., currency=...), without the keyword call.
        _set_amount_value(amount, _decimal(raw if raw is not None else "0"))
        _set_amount_currency(amount, currency)
        _set_amount_extra(amount, EMPTY if len(value) <= 2 and value.keys() <= _AMOUNT_KEYS
                          else _unknown(value, _AMOUNT_KEYS))
        return amount
    # Tolerated: a bare number where an Amount object is documented.
    return m.Amount(value=_decimal(value))


# --------------------------------------------------------------------------
# Lazily built nested parts of MarketData (see pmsync.models._LazyField).
#
# The hooks below validate and convert a part completely (every Decimal is
# built, every shape and type checked, with the same rules and errors as the
# eager hooks) but leave the objects unbuilt: the model's slot holds a
# models._Prepared list, built on first access from values that cannot fail.

_STATS_NAMES = m._STATS_NAMES
_STATS_AMOUNT = m._STATS_AMOUNT
_Prepared = m._Prepared


def _prep_amount(value: Any) -> tuple[Decimal, str | None]:
    """What :func:`_amount` would build, as ``(value, currency)``; raises as it does."""
    if type(value) is dict or isinstance(value, dict):
        raw = value.get("value")
        currency = value.get("currency")
        if currency is not None and type(currency) is not str and not isinstance(currency, str):
            raise TypeError(f"currency must be a string, got {type(currency).__name__}")
        if type(raw) is str:  # _decimal's common case, inline
            number = _decimal_cached(raw)
            return (number if number is not None else _decimal_text(raw)), currency
        return _decimal(raw if raw is not None else "0"), currency
    return _decimal(value), None


def _prep_level(item: Any) -> tuple[Any, Any]:
    """One level as ``((value, currency) | None, qty | None)``; raises as the
    BookLevel hook does."""
    if type(item) is not dict and not isinstance(item, dict):
        raise TypeError(f"BookLevel: expected an object, got {type(item).__name__}")
    # "px" and "qty" are spelled the same in both dialects; null = absent.
    px = item.get("px")
    qty = item.get("qty")
    if px is not None:
        try:
            px = _prep_amount(px)
        except Exception as exc:
            raise _FieldError(f"BookLevel.px: {exc}") from exc
    if qty is not None:
        try:
            qty = _decimal(qty)
        except Exception as exc:
            raise _FieldError(f"BookLevel.qty: {exc}") from exc
    return px, qty


def _levels_exact(value: Any) -> list[tuple[Any, Any]] | tuple[()] | None:
    """Prepared levels when every level has the documented shape and types (text
    numbers, no JSON number anywhere); ``None`` otherwise."""
    if type(value) is not list:
        return () if value is None else None
    if not value:
        return ()
    data: list[tuple[Any, Any]] = _Prepared()
    append = data.append
    cache = _DECIMAL_CACHE
    try:
        # Subscripts, not .get(): a missing key, a wrong type or a number not yet
        # cached raises, and the careful loop below decides.
        for item in value:
            px = item["px"]
            currency = px["currency"]
            if (currency is not None and type(currency) is not str) or len(item) != 2 or len(px) != 2:
                return None  # (the tolerant path reads unknown fields)
            # The cache holds str keys only: a hit means text, never a JSON number.
            append(((cache[px["value"]], currency), cache[item["qty"]]))
        return data
    except (KeyError, TypeError):
        pass
    data = _Prepared()
    append = data.append
    for item in value:
        if type(item) is not dict:
            return None
        px = item.get("px")
        qty = item.get("qty")
        if type(px) is not dict or type(qty) is not str:
            return None
        raw = px.get("value")
        currency = px.get("currency")
        if type(raw) is not str or (currency is not None and type(currency) is not str):
            return None
        if not (item.keys() <= _LEVEL_KEYS and px.keys() <= _AMOUNT_KEYS):
            return None
        try:
            append(((_decimal(raw), currency), _decimal(qty)))
        except ValueError:
            return None
    return data


def _lazy_levels(value: Any, _: Any = None) -> Any:
    """``tuple[BookLevel, ...]`` validated now, built on first access."""
    exact = _levels_exact(value)
    if exact is not None:
        return exact
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    for item in value:
        if isinstance(item, dict):
            px = item.get("px")
            if not item.keys() <= _LEVEL_KEYS or (isinstance(px, dict) and not px.keys() <= _AMOUNT_KEYS):
                return _eager_hook(tuple[m.BookLevel, ...])(value, None)  # keeps unknown fields
    data: list[tuple[Any, Any]] = _Prepared()
    for item in value:
        data.append(_prep_level(item))
    return data  # built on first access (models._LazyField)


def _eager_hook(tp: Any) -> Callable[[Any, Any], Any]:
    """The converter's (eager) hook for ``tp``: for parts that carry unknown fields."""
    return converter.get_structure_hook(tp)


# MarketStats: field index by both spellings.
_STATS_INDEX = {
    **{name: i for i, name in enumerate(_STATS_NAMES)},
    **{_to_camel(name): i for i, name in enumerate(_STATS_NAMES)},
}


_STATS_SPELLINGS = (_STATS_NAMES, tuple(_to_camel(name) for name in _STATS_NAMES))
_STATS_KEYSETS = tuple(frozenset(names) for names in _STATS_SPELLINGS)


def _stats_exact(value: dict[str, Any]) -> list[Any] | None:
    """Prepared stats when every known field has the documented type (an Amount
    object with a text value, or a text number); ``None`` otherwise."""
    keys = value.keys()
    names = (_STATS_SPELLINGS[0] if keys == _STATS_KEYSETS[0]
             else _STATS_SPELLINGS[1] if keys == _STATS_KEYSETS[1] else None)
    if names is not None:  # all five fields, in one dialect: subscripts (see _levels_exact)
        cache = _DECIMAL_CACHE
        try:
            last, high, low = value[names[0]], value[names[3]], value[names[4]]
            c0, c3, c4 = last["currency"], high["currency"], low["currency"]
            if ((c0 is None or type(c0) is str) and (c3 is None or type(c3) is str)
                    and (c4 is None or type(c4) is str)
                    and len(last) == 2 and len(high) == 2 and len(low) == 2):
                return _Prepared((
                    (cache[last["value"]], c0),
                    cache[value[names[1]]],
                    cache[value[names[2]]],
                    (cache[high["value"]], c3),
                    (cache[low["value"]], c4),
                ))
            return None
        except (KeyError, TypeError):
            pass
    data: list[Any] = _Prepared((None, None, None, None, None))
    for key, item in value.items():
        k = _STATS_INDEX.get(key)
        if k is None:
            return None  # an unknown field: the tolerant path keeps it
        if item is None:
            continue
        currency = None
        if _STATS_AMOUNT[k]:
            if type(item) is not dict or not item.keys() <= _AMOUNT_KEYS:
                return None
            raw = item.get("value")
            currency = item.get("currency")
            if type(raw) is not str or (currency is not None and type(currency) is not str):
                return None
        elif type(item) is str:
            raw = item
        else:
            return None
        try:
            number = _decimal(raw)
        except ValueError:
            return None
        data[k] = (number, currency) if _STATS_AMOUNT[k] else number
    return data


def _lazy_stats(value: Any, _: Any = None) -> Any:
    """``MarketStats`` validated now, built on first access."""
    if type(value) is not dict and not isinstance(value, dict):
        raise TypeError(f"MarketStats: expected an object, got {type(value).__name__}")
    exact = _stats_exact(value)
    if exact is not None:
        return exact
    for key, item in value.items():
        k = _STATS_INDEX.get(key)
        if k is None or (_STATS_AMOUNT[k] and isinstance(item, dict)
                         and not item.keys() <= _AMOUNT_KEYS):
            return _eager_hook(m.MarketStats)(value, None)  # keeps unknown fields
    data: list[Any] = _Prepared((None, None, None, None, None))
    for key, item in value.items():
        k = _STATS_INDEX.get(key)
        if k is None or item is None:
            continue
        try:
            data[k] = _prep_amount(item) if _STATS_AMOUNT[k] else _decimal(item)
        except Exception as exc:
            raise _FieldError(f"MarketStats.{_STATS_NAMES[k]}: {exc}") from exc
    return data  # built on first access (models._LazyField)


#: (model, field) → the hook that leaves the field to be built on first access.
_LAZY_HOOKS: dict[tuple[type[Any], str], Callable[[Any, Any], Any]] = {
    (m.MarketData, "bids"): _lazy_levels,
    (m.MarketData, "offers"): _lazy_levels,
    (m.MarketData, "stats"): _lazy_stats,
}


_fromisoformat = datetime.fromisoformat
_UTC = timezone.utc


def _datetime(value: Any, _: Any = None) -> datetime:
    if type(value) is str:
        # Python 3.11 reads a trailing "Z" itself; anything it refuses (spaces, a
        # lower-case "z"...) takes the tolerant path below, with the same result.
        try:
            result = _fromisoformat(value)
        except ValueError:
            return _datetime_tolerant(value)
        return result if result.tzinfo is not None else result.replace(tzinfo=_UTC)
    return _datetime_tolerant(value)


def _datetime_tolerant(value: Any) -> datetime:
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("z", "Z")):
            text = text[:-1] + "+00:00"
        try:
            result = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an RFC 3339 timestamp: {value[:40]!r}") from None
    elif isinstance(value, dict):  # proto Timestamp as an object, tolerated
        seconds = value.get("seconds", 0)
        nanos = value.get("nanos", 0)
        result = datetime.fromtimestamp(int(seconds) + int(nanos) / 1e9, timezone.utc)
    else:
        raise TypeError(f"expected a timestamp string, got {type(value).__name__}")
    if result.tzinfo is None:
        result = result.replace(tzinfo=timezone.utc)
    return result


def _str(value: Any, _: Any = None) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # proto3-JSON int64 fields, tolerated
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _int(value: Any, _: Any = None) -> int:
    if isinstance(value, bool):
        raise TypeError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value)  # proto3-JSON int64 as a string
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise TypeError(f"expected an integer, got {value!r}"[:80])


def _bool(value: Any, _: Any = None) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError(f"expected a boolean, got {type(value).__name__}")


def _dict(value: Any, _: Any = None) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise TypeError(f"expected an object, got {type(value).__name__}")


def _enum_of(tp: Any) -> type[WireEnum] | None:
    if get_origin(tp) in (Union, types.UnionType):
        for arg in get_args(tp):
            if isinstance(arg, type) and issubclass(arg, WireEnum):
                return arg
    return None


def _enum_hook_factory(tp: Any) -> Callable[[Any, Any], Any]:
    enum_cls = _enum_of(tp)
    assert enum_cls is not None
    from_wire = enum_cls.from_wire

    def hook(value: Any, _: Any) -> Any:
        return None if value is None else from_wire(value)

    return hook


def _is_homogeneous_tuple(tp: Any) -> bool:
    args = get_args(tp)
    return get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _optional_inner(tp: Any) -> Any:
    args = get_args(tp)
    if get_origin(tp) in (Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return None


def _build_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=False)
    conv.register_structure_hook(Decimal, _decimal)
    conv.register_structure_hook(m.Amount, _amount)
    conv.register_structure_hook(datetime, _datetime)
    conv.register_structure_hook(str, _str)
    conv.register_structure_hook(int, _int)
    conv.register_structure_hook(bool, _bool)
    conv.register_structure_hook_func(
        lambda tp: get_origin(tp) is dict or tp is dict,  # type: ignore[comparison-overlap]
        lambda v, tp: _structure_dict(conv, v, tp),
    )
    conv.register_structure_hook_factory(lambda tp: _enum_of(tp) is not None, _enum_hook_factory)
    conv.register_structure_hook_factory(
        lambda tp: _optional_inner(tp) is not None and _enum_of(tp) is None,
        lambda tp: _optional_hook(conv, tp),
    )
    conv.register_structure_hook_factory(_is_homogeneous_tuple, lambda tp: _tuple_hook(conv, tp))
    conv.register_structure_hook_factory(
        lambda tp: attrs.has(tp) and tp not in (m.Amount, m.RfqEvent),
        lambda tp: _model_hook(conv, tp),
    )
    return conv


def _structure_dict(conv: cattrs.Converter, value: Any, tp: Any) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    args = get_args(tp)
    if len(args) != 2 or args[1] is Any:
        return value
    hook = conv.get_structure_hook(args[1])
    return {str(k): hook(v, args[1]) for k, v in value.items()}


def _optional_hook(conv: cattrs.Converter, tp: Any) -> Callable[[Any, Any], Any]:
    inner = _optional_inner(tp)
    hook = conv.get_structure_hook(inner)

    def optional(value: Any, _: Any) -> Any:
        return None if value is None else hook(value, inner)

    return optional


def _tuple_hook(conv: cattrs.Converter, tp: Any) -> Callable[[Any, Any], tuple[Any, ...]]:
    item_type = get_args(tp)[0]
    item_hook = conv.get_structure_hook(item_type)

    def structure_tuple(value: Any, _: Any) -> tuple[Any, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        return tuple([item_hook(item, item_type) for item in value])

    return structure_tuple


def _field_type(tp: Any) -> Any:
    """The type a field's hook is for: ``Optional[X]`` unwrapped to ``X`` (a
    ``null`` never reaches the hook); enum unions stay whole."""
    inner = _optional_inner(tp)
    return inner if inner is not None and _enum_of(tp) is None else tp


def _model_hook(conv: cattrs.Converter, cls: Any, inline: bool = True) -> Callable[[Any, Any], Any]:
    """A structuring function for one model class, generated once (as source).

    ``inline=False`` sends every field through its hook, without the inline
    common cases of :func:`_inline_conversion` (the reference tests compare with).

    It looks each key up in a table of both spellings (snake and camel); an
    unknown key goes to ``extra`` (snake spelling, value as parsed, ``null``
    included); ``null`` leaves a known field at its default; a later spelling of
    the same field wins. The instance is made with
    ``object.__new__`` and its slots set directly: the same object the attrs
    ``__init__`` would build (the models have no validators, converters or
    post-init), at a fraction of the cost of a keyword call.
    """
    attrs.resolve_types(cls)
    fields = [f for f in attrs.fields(cls) if f.name != "extra"]
    index: dict[str, int] = {}
    ns: dict[str, Any] = {
        "cls": cls,
        "new": _new,
        "index_get": index.get,
        "_FieldError": _FieldError,
        "_MISSING": _MISSING,
        "names": [f.name for f in fields],
        "name": cls.__name__,
        "isinstance": isinstance,
        "dict": dict,
        "type": type,
        "TypeError": TypeError,
        "snake": to_snake,
        "adopt": Extra.adopt,
        "EMPTY": EMPTY,
        "set_extra": cls.__dict__["extra"].__set__,
    }
    init: list[str] = []
    branches: list[str] = []
    sets: list[str] = []
    for i, field in enumerate(fields):
        index[field.name] = i
        index[_to_camel(field.name)] = i
        ns[f"t{i}"] = field_type = _field_type(field.type)
        ns[f"h{i}"] = _LAZY_HOOKS.get((cls, field.name)) or conv.get_structure_hook(field_type)
        descriptor = cls.__dict__.get(field.name)
        ns[f"s{i}"] = (descriptor.raw_set if isinstance(descriptor, m._LazyField)
                       else getattr(cls, field.name).__set__)
        default = field.default
        if default is attrs.NOTHING:
            init.append(f"    v{i} = _MISSING")
            sets.append(f"    if v{i} is _MISSING:\n"
                        f"        raise TypeError(name + ': missing ' + names[{i}])")
        elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            ns[f"f{i}"] = default.factory
            init.append(f"    v{i} = _MISSING")
            sets.append(f"    if v{i} is _MISSING:\n        v{i} = f{i}()")
        else:
            ns[f"d{i}"] = default
            init.append(f"    v{i} = d{i}")
        keyword = "if" if i == 0 else "elif"
        branches.append(f"            {keyword} k == {i}:\n" + (
            _inline_conversion(i, field_type, ns) if inline
            else f"                v{i} = h{i}(item, t{i})"))
        sets.append(f"    s{i}(obj, v{i})")
    source = "\n".join([
        "def structure(value, _):",
        "    if type(value) is not dict and not isinstance(value, dict):",
        "        raise TypeError(f'{name}: expected an object, got {type(value).__name__}')",
        *init,
        "    k = -1",
        "    extra = None",
        "    try:",
        "        for key, item in value.items():",
        "            k = index_get(key)",
        "            if k is None:",
        "                if extra is None:",
        "                    extra = {}",
        "                extra[snake(key)] = item",
        "                continue",
        "            if item is None:",
        "                continue",
        *branches,
        "    except _FieldError as exc:",
        "        raise _FieldError(f'{name}.{names[k]} > {exc}') from exc",
        "    except Exception as exc:",
        "        raise _FieldError(f'{name}.{names[k]}: {exc}') from exc",
        "    obj = new(cls)",
        *sets,
        "    set_extra(obj, EMPTY if extra is None else adopt(extra))",
        "    return obj",
    ]) if fields else "def structure(value, _):\n" \
        "    if not isinstance(value, dict):\n" \
        "        raise TypeError(f'{name}: expected an object, got {type(value).__name__}')\n" \
        "    return cls(extra={snake(k): v for k, v in value.items()})\n"
    exec(compile(source, f"<pmsync structure {cls.__name__}>", "exec"), ns)  # noqa: S102
    structure: Callable[[Any, Any], Any] = ns["structure"]
    return structure


def _inline_conversion(i: int, field_type: Any, ns: dict[str, Any]) -> str:
    """Source that sets ``v{i}`` from ``item``: the common case of a scalar field
    inline (the value the hook would return, without the call), else the hook."""
    call = f"h{i}(item, t{i})"
    pad = " " * 16
    enum_cls = _enum_of(field_type)
    if enum_cls is not None:  # WireEnum.from_wire's exact-type fast path
        ns[f"w{i}"] = enum_cls.__dict__["_wire_table"].get
        return (f"{pad}v{i} = w{i}(item, item) if type(item) is int or type(item) is str "
                f"else {call}")
    if field_type in (str, int, bool):  # _str, _int, _bool return such a value as is
        return f"{pad}v{i} = item if type(item) is {field_type.__name__} else {call}"
    if field_type is Decimal:  # _decimal's cached case
        ns["cached"] = _decimal_cached
        return (f"{pad}v{i} = cached(item) if type(item) is str else None\n"
                f"{pad}if v{i} is None:\n{pad}    v{i} = {call}")
    return f"{pad}v{i} = {call}"


_MISSING = object()


class _FieldError(ValueError):
    """A field failed to structure; the message carries its path."""


#: The one converter of the library (structuring only).
converter = _build_converter()

_RFQ_VARIANTS = (
    "rfq_created",
    "rfq_closed",
    "quote_created",
    "quote_deleted",
    "quote_accepted",
    "quote_confirmed",
    "quote_executed",
    "rfq_trade",
)


def _rfq_event(value: Any, _: Any = None) -> m.RfqEvent:
    body = _dict(value)
    for key, content in body.items():
        variant = to_snake(key)
        if variant in _RFQ_VARIANTS:
            break
    else:
        # A newer variant: its known-named fields are read, the rest kept.
        key = next(iter(body), "")
        variant, content = (to_snake(key), body[key]) if key else ("unknown", {})
    parts = _rfq_parts(_dict(content) if content is not None else {}, None)
    extra = dict(parts.extra)
    for other, item in body.items():
        if other != key:  # the body's other keys, kept too
            extra.setdefault(to_snake(other), item)
    fields = {name: getattr(parts, name) for name in _RFQ_PART_NAMES}
    return m.RfqEvent(variant=variant, extra=Extra.adopt(extra) if extra else EMPTY, **fields)


@attrs.frozen(slots=True, kw_only=True)
class _RfqParts:
    rfq: m.Rfq | None = None
    quote: m.Quote | None = None
    trade: m.RfqTrade | None = None
    confirmation_deadline: datetime | None = None
    execution_deadline: datetime | None = None
    order_id: str | None = None
    client_order_id: str | None = None
    executed_time: datetime | None = None
    extra: Extra = attrs.field(default=EMPTY)


_rfq_parts = converter.get_structure_hook(_RfqParts)
_RFQ_PART_NAMES = tuple(f.name for f in attrs.fields(_RfqParts) if f.name != "extra")


# --------------------------------------------------------------------------
# Payloads

_Hook = Callable[[Any, Any], Any]


def _model(cls: type[Any]) -> _Hook:
    return converter.get_structure_hook(cls)


_HEARTBEAT = m.Heartbeat()


def _heartbeat(value: Any, _: Any = None) -> m.Heartbeat:
    if not value:
        return _HEARTBEAT
    return m.Heartbeat(extra=Extra.adopt({to_snake(k): v for k, v in _dict(value).items()}))


def _with_legacy_balance(hook: _Hook) -> _Hook:
    """``hook``, and the legacy ``{balance, buying_power}`` shape read as a Balance."""

    def structure(value: Any, _: Any) -> Any:
        data = hook(value, _)
        if data.balance is None and data.buying_power is None:
            return data
        legacy = m.Balance(current_balance=data.balance, buying_power=data.buying_power)
        if isinstance(data, m.BalanceSnapshot):
            return data if data.balances else attrs.evolve(data, balances=(legacy,))
        if data.balance_change is None:
            return attrs.evolve(data, balance_change=m.BalanceChange(after_balance=legacy))
        return data

    return structure


def _with_legacy_position(hook: _Hook) -> _Hook:
    """``hook``, and the legacy ``{market_slug, position}`` shape's position as ``after_position``."""

    def structure(value: Any, _: Any) -> Any:
        data = hook(value, _)
        if data.position is not None and data.after_position is None:
            return attrs.evolve(data, after_position=data.position)
        return data

    return structure

# MarketData, the bulk of a market stream: a hand-written hook for the common
# case (every key known and in one dialect, values of the documented types).
# Anything else, and every error, goes to the generated hook, which gives the
# same object or the same error message. The common case holds no JSON number
# but small enum numbers, so decode() needs no long-integer check for it (see
# _plain_market_data).
_MD_KEYS = {
    "snake": frozenset(("market_slug", "bids", "offers", "state", "stats", "transact_time")),
    "camel": frozenset(("marketSlug", "bids", "offers", "state", "stats", "transactTime")),
}
_MD_SNAKE, _MD_CAMEL = _MD_KEYS["snake"], _MD_KEYS["camel"]
_MarketData = m.MarketData
_md_set = tuple(
    (d.raw_set if isinstance(d, m._LazyField) else d.__set__)
    for d in (m.MarketData.__dict__[f.name] for f in attrs.fields(m.MarketData))
)
(_md_set_slug, _md_set_bids, _md_set_offers, _md_set_state, _md_set_stats,
 _md_set_time, _md_set_extra) = _md_set
_market_state = MarketState.__dict__["_wire_table"].get
_market_data_generic: _Hook = converter.get_structure_hook(m.MarketData)


def _market_data_exact(value: Any) -> m.MarketData | None:
    """The MarketData of the common case: every key known and in one dialect,
    every value of its documented type, no JSON number but the state. ``None``
    for anything else (the generated hook then decides, and names any error)."""
    if type(value) is not dict:
        return None
    keys = value.keys()
    if keys <= _MD_SNAKE:
        slug, stamp = value.get("market_slug"), value.get("transact_time")
    elif keys <= _MD_CAMEL:
        slug, stamp = value.get("marketSlug"), value.get("transactTime")
    else:
        return None
    state = value.get("state")
    stats = value.get("stats")
    if ((slug is not None and type(slug) is not str)
            or (state is not None and type(state) is not int and type(state) is not str)
            or (stamp is not None and type(stamp) is not str)):
        return None
    bids = _levels_exact(value.get("bids"))
    offers = _levels_exact(value.get("offers"))
    if bids is None or offers is None:
        return None
    if stats is not None:
        if type(stats) is not dict:
            return None
        stats = _stats_exact(stats)
        if stats is None:
            return None
    if stamp is not None:
        try:
            stamp = _datetime(stamp)
        except ValueError:
            return None
    obj = _new(_MarketData)
    _md_set_slug(obj, slug)
    _md_set_bids(obj, bids)
    _md_set_offers(obj, offers)
    _md_set_state(obj, None if state is None else _market_state(state, state))
    _md_set_stats(obj, stats)
    _md_set_time(obj, stamp)
    _md_set_extra(obj, EMPTY)
    return obj


def _market_data(value: Any, _: Any = None) -> m.MarketData:
    result = _market_data_exact(value)
    if result is None:
        return _market_data_generic(value, _)  # type: ignore[no-any-return]
    return result


_POSITION_UPDATE = _with_legacy_position(_model(m.PositionUpdate))
_BALANCE_SNAPSHOT = _with_legacy_balance(_model(m.BalanceSnapshot))
_BALANCE_UPDATE = _with_legacy_balance(_model(m.BalanceUpdate))

# payload key (snake spelling) → (kind, structuring function)
_PAYLOADS: dict[str, tuple[str, _Hook]] = {
    "market_data": ("market_data", _market_data),
    "market_data_lite": ("market_data_lite", _model(m.MarketDataLite)),
    "trade": ("trade", _model(m.Trade)),
    "order_subscription_snapshot": ("order_snapshot", _model(m.OrderSnapshot)),
    "order_subscription_update": ("order_update", _model(m.OrderUpdate)),
    "position_subscription": ("position_update", _POSITION_UPDATE),
    "account_balances_snapshot": ("balance_snapshot", _BALANCE_SNAPSHOT),
    "account_balances_update": ("balance_update", _BALANCE_UPDATE),
    "rfq_event": ("rfq_event", _rfq_event),
    "heartbeat": ("heartbeat", _heartbeat),
    # Legacy spellings seen in the official SDK's dispatcher.
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
# Both spellings, so the hot path does one dict look-up per key.
_PAYLOAD_KEYS: dict[str, tuple[str, _Hook]] = {}
for _key, _entry in _PAYLOADS.items():
    _PAYLOAD_KEYS[_key] = _entry
    _PAYLOAD_KEYS[_to_camel(_key)] = _entry

#: Every event kind :func:`decode` produces.
KINDS = frozenset(kind for kind, _ in _PAYLOADS.values()) | {"error", "unknown"}

_REQUEST_ID_KEYS = ("request_id", "requestId")
_SUBSCRIPTION_TYPE_KEYS = ("subscription_type", "subscriptionType")
_ENVELOPE = frozenset(_REQUEST_ID_KEYS + _SUBSCRIPTION_TYPE_KEYS)
_ERROR_KEYS = _ENVELOPE | {"error"}


# --------------------------------------------------------------------------
# JSON


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_json_loads = json.JSONDecoder(parse_constant=_reject_constant).decode


# orjson reads an integer beyond the 64-bit range as a binary float (losing
# digits of a quantity); json reads it exactly. A frame with such a long run of
# digits anywhere goes to json, so both back ends give the same results. The
# check maps every digit to "0" and everything else to " " (bytes.translate, in
# C) and looks for 19 zeros: ~0.6 µs for a book, where a regex search took ~5 µs.
# A market-data frame of the documented shape carries no JSON number that
# could be that long (prices and sizes are text), so it skips the check: see
# _plain_market_data.
_DIGIT_MAP = bytes(0x30 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_LONG_RUN = b"0" * 19


def _plain_market_data(obj: dict[str, Any], text: str, sub_table: dict[Any, Any]) -> Event | None:
    """The event of a market-data frame that only text values and small numbers
    make up (what :func:`decode` would return), or ``None``.

    Everything this reads is a string, a dict, a list or an int, and orjson and
    json parse those alike, so its result does not depend on the parser: the
    frame needs no long-integer check. Anything else (a number where the
    documented shape has text, an error, another payload first, an unusual
    shape) gives ``None`` and takes the checked path.
    """
    request_id = obj.get("request_id")
    if request_id is None:
        request_id = obj.get("requestId")
    if request_id is not None and type(request_id) is not str:
        return None
    sub_type = obj.get("subscription_type")
    if sub_type is None:
        sub_type = obj.get("subscriptionType")
    if sub_type is not None:
        if type(sub_type) is not int and type(sub_type) is not str:
            return None
        sub_type = sub_table.get(sub_type, sub_type)
    if "error" in obj:
        return None
    for key, content in obj.items():
        entry = _PAYLOAD_KEYS.get(key)
        if entry is not None:
            break
    else:
        return None
    if entry[1] is not _market_data:
        return None
    data = _market_data_exact({} if content is None else content)
    if data is None:
        return None
    event = _event("market_data", request_id, sub_type, data, text)
    if len(obj) > 1 + (request_id is not None) + (sub_type is not None):
        _ev_extra(event, _unknown(obj, _ENVELOPE | {key}))
    return event


def _event(kind: str, request_id: Any, sub_type: Any, data: Any, text: str) -> Event:
    """``Event(kind, request_id, sub_type, data, text)``: the same object, without
    the keyword call (the hot path's)."""
    event = _new(Event)
    _ev_kind(event, kind)
    _ev_request_id(event, request_id)
    _ev_subscription_type(event, sub_type)
    _ev_data(event, data)
    _ev_raw(event, text)
    _ev_resync(event, False)
    _ev_extra(event, EMPTY)
    return event


# --------------------------------------------------------------------------
# decode


def decode(text: str | bytes, endpoint: str) -> Event:
    """Decode one frame received on ``endpoint`` (``"private"`` or ``"markets"``).

    Returns an :class:`Event`; raises :class:`DecodeError` (and nothing else) for
    bad UTF-8, invalid JSON, a non-object, or a known payload whose content
    cannot be structured. A well-formed object with no known payload key is an
    ``"unknown"`` event, not an error.
    """
    raw_bytes: bytes | None = None
    if type(text) is bytes:
        raw_bytes = text
        try:
            text = raw_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"frame is not valid UTF-8: {exc}", _raw(text)) from None
    elif not isinstance(text, str):
        try:
            text = bytes(text).decode("utf-8")
        except (UnicodeDecodeError, TypeError) as exc:
            raise DecodeError(f"frame is not valid UTF-8: {exc}", _raw(text)) from None
    try:
        sub_enum = _SUB_ENUMS[endpoint]
    except KeyError:
        raise DecodeError(f"unknown endpoint {endpoint!r}", text) from None
    sub_table = _SUB_TABLES[endpoint]
    # Parse: orjson when installed (checked for long integers, see _LONG_RUN), else json.
    obj: Any = None
    utf8: bytes | None = None
    if _orjson is not None:
        utf8 = raw_bytes if raw_bytes is not None else text.encode("utf-8", "surrogatepass")
        try:
            obj = _orjson.loads(utf8)
        except _orjson.JSONDecodeError:
            utf8 = None  # decide with json, so both back ends accept the same inputs
        else:
            if type(obj) is dict and ("market_data" in obj or "marketData" in obj):
                event = _plain_market_data(obj, text, sub_table)
                if event is not None:
                    return event
            if _LONG_RUN in utf8.translate(_DIGIT_MAP):
                utf8 = None  # json reads long integers exactly
    if utf8 is None:
        try:
            obj = _json_loads(text)
        except RecursionError:
            raise DecodeError("invalid JSON: nested too deeply", text) from None
        except ValueError as exc:
            raise DecodeError(f"invalid JSON: {exc}", text) from None
    if not isinstance(obj, dict):
        raise DecodeError(f"not a JSON object but {_json_type(obj)}", text)
    try:
        # The envelope: either spelling of each key (_REQUEST_ID_KEYS, _SUBSCRIPTION_TYPE_KEYS).
        request_id = obj.get("request_id")
        if request_id is None:
            request_id = obj.get("requestId")
        if request_id is not None and type(request_id) is not str and not isinstance(
            request_id, str
        ):
            request_id = _str(request_id)
        sub_type = obj.get("subscription_type")
        if sub_type is None:
            sub_type = obj.get("subscriptionType")
        if sub_type is not None:
            kind_of = type(sub_type)
            if kind_of is int or kind_of is str:  # sub_enum.from_wire(sub_type), inline
                sub_type = sub_table.get(sub_type, sub_type)
            else:
                sub_type = sub_enum.from_wire(sub_type)
        if "error" in obj:
            error = obj["error"]
            if not isinstance(error, str):
                error = json.dumps(error)
            data: Any = m.ErrorResponse(
                error=error, request_id=request_id, subscription_type=sub_type,
                extra=_unknown(obj, _ERROR_KEYS),
            )
            return Event("error", request_id, sub_type, data, text)
        for key, content in obj.items():
            entry = _PAYLOAD_KEYS.get(key)
            if entry is not None:
                kind, hook = entry
                data = hook({} if content is None else content, None)
                event = _event(kind, request_id, sub_type, data, text)
                if len(obj) > 1 + (request_id is not None) + (sub_type is not None):
                    _ev_extra(event, _unknown(obj, _ENVELOPE | {key}))
                return event
    except DecodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - the contract: only DecodeError escapes
        raise DecodeError(f"cannot structure {_payload_name(obj)}: {exc}", text) from None
    return Event("unknown", request_id, sub_type, obj, text)


_ev_kind = Event.__dict__["kind"].__set__
_ev_request_id = Event.__dict__["request_id"].__set__
_ev_subscription_type = Event.__dict__["subscription_type"].__set__
_ev_data = Event.__dict__["data"].__set__
_ev_raw = Event.__dict__["raw"].__set__
_ev_resync = Event.__dict__["resync"].__set__
_ev_extra = Event.__dict__["extra"].__set__

_SUB_ENUMS: dict[str, type[PrivateSubscriptionType] | type[MarketSubscriptionType]] = {
    "private": PrivateSubscriptionType,
    "markets": MarketSubscriptionType,
}


#: Wire name or number → member, per endpoint (WireEnum.from_wire's table).
_SUB_TABLES: dict[str, dict[Any, Any]] = {
    endpoint: enum.__dict__["_wire_table"] for endpoint, enum in _SUB_ENUMS.items()
}


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
    """A subscribe request (WIRE.md §4) in ``dialect``.

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

