"""Parsed JSON → typed models: one structuring function per model class. No I/O.

Each model's function is generated once, as Python source, from its attrs class
(:func:`model_hook`); the source is registered in :mod:`linecache`, as attrs and
cattrs do for theirs, so a traceback through it shows the line. Keys are read in
either spelling (snake or camel); a key the model does not know goes to its
``extra`` (snake spelling, value as parsed); ``null`` leaves a field at its
default; an enum value unknown to this version is kept raw. Scalars go through
the hooks below (:func:`decimal`, :func:`timestamp`...), registered on
:data:`converter`, which also holds the hooks of ``Optional``, tuples and dicts.

The payloads that are not a plain model (RFQ events, heartbeats, the legacy
balance and position shapes) have their functions at the end.
"""

from __future__ import annotations

import linecache
import re
import types
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Union, get_args, get_origin

import attrs
import cattrs

from . import models as m
from .enums import WireEnum
from .extra import EMPTY, Extra

__all__ = ["converter", "model_hook", "to_snake"]

Hook = Callable[[Any, Any], Any]

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


def to_camel(key: str) -> str:
    """``"market_slug"`` → ``"marketSlug"``."""
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def unknown(value: dict[str, Any], known: frozenset[str]) -> Extra:
    """The keys of ``value`` not in ``known``, snake-spelt, as an :class:`~pmsync.extra.Extra`."""
    extra = {to_snake(k): v for k, v in value.items() if k not in known}
    return Extra.adopt(extra) if extra else EMPTY


class FieldError(ValueError):
    """A field failed to structure; the message carries its path."""


# --------------------------------------------------------------------------
# Scalars

# Decimals by their exact text: prices and sizes repeat across a stream, and a
# dict look-up costs a fraction of ``Decimal(text)`` plus its finiteness check.
# The key is the exact text ("0.50" and "0.5" stay distinct) and Decimals are
# immutable, so a cached value is the one ``Decimal(text)`` would build. Only
# finite numbers of at most DECIMAL_TEXT_MAX characters are kept; the cache is
# emptied when it reaches DECIMAL_CACHE_MAX entries (texts come from the network).
DECIMAL_CACHE: dict[str, Decimal] = {}
DECIMAL_CACHE_MAX = 8192
DECIMAL_TEXT_MAX = 40
_decimal_cached = DECIMAL_CACHE.get


def _decimal_text(value: str) -> Decimal:
    """``Decimal(value)`` for a finite number, cached; ``ValueError`` otherwise."""
    try:
        result = Decimal(value)  # Decimal() itself ignores surrounding whitespace
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {value[:40]!r}") from None
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value[:40]!r}")
    if len(value) <= DECIMAL_TEXT_MAX:
        if len(DECIMAL_CACHE) >= DECIMAL_CACHE_MAX:
            DECIMAL_CACHE.clear()
        DECIMAL_CACHE[value] = result
    return result


def decimal(value: Any, _: Any = None) -> Decimal:
    """A finite ``Decimal`` from a JSON string or number (a float by its shortest form)."""
    if type(value) is str:
        cached = _decimal_cached(value)
        return cached if cached is not None else _decimal_text(value)
    if isinstance(value, str):
        return decimal(str(value))
    if isinstance(value, bool):
        raise TypeError("expected a number, got a boolean")
    if isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))  # the shortest decimal form, never the binary expansion
    elif isinstance(value, Decimal):
        result = value
    else:
        raise TypeError(f"expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


_AMOUNT_KEYS = frozenset(("value", "currency"))

# Amounts by (text, currency), as the decimals: an Amount without unknown fields
# is immutable and equal to any other of the same text and currency, so one
# object serves every event that carries that price. Bounded like DECIMAL_CACHE.
AMOUNT_CACHE: dict[tuple[str, str | None], m.Amount] = {}
_amount_cached = AMOUNT_CACHE.get
_new = object.__new__
_set_value, _set_currency, _set_extra = (
    m.Amount.__dict__[name].__set__ for name in ("value", "currency", "extra"))


def amount(value: Any, _: Any = None) -> m.Amount:
    """An :class:`~pmsync.models.Amount`; a bare number is tolerated, a missing value is 0."""
    if type(value) is not dict and not isinstance(value, dict):
        return m.Amount(value=decimal(value))
    raw: Any = value.get("value")
    currency: Any = value.get("currency")
    plain = type(raw) is str and (currency is None or type(currency) is str)
    if plain and (len(value) == 1 or (len(value) == 2 and "currency" in value)):
        cached = _amount_cached((raw, currency))
        if cached is not None:
            return cached
    if currency is not None and not isinstance(currency, str):
        raise TypeError(f"currency must be a string, got {type(currency).__name__}")
    result = _new(m.Amount)  # what Amount(value=..., currency=..., extra=...) builds
    _set_value(result, decimal(raw if raw is not None else "0"))
    _set_currency(result, currency)
    if value.keys() <= _AMOUNT_KEYS:
        _set_extra(result, EMPTY)
        if plain and len(raw) <= DECIMAL_TEXT_MAX:
            if len(AMOUNT_CACHE) >= DECIMAL_CACHE_MAX:
                AMOUNT_CACHE.clear()
            AMOUNT_CACHE[raw, currency] = result
    else:
        _set_extra(result, unknown(value, _AMOUNT_KEYS))
    return result


_fromisoformat = datetime.fromisoformat
_UTC = timezone.utc


def timestamp(value: Any, _: Any = None) -> datetime:
    """An aware ``datetime`` from RFC 3339 text (UTC when no offset is given)."""
    if type(value) is str:
        # Python 3.11 reads a trailing "Z" itself; anything it refuses (spaces, a
        # lower-case "z"...) takes the tolerant path, with the same result.
        try:
            result = _fromisoformat(value)
        except ValueError:
            return timestamp_tolerant(value)
        return result if result.tzinfo is not None else result.replace(tzinfo=_UTC)
    return timestamp_tolerant(value)


def timestamp_tolerant(value: Any) -> datetime:
    """:func:`timestamp` for any spelling it accepts, and a proto Timestamp object."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("z", "Z")):
            text = text[:-1] + "+00:00"
        try:
            result = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an RFC 3339 timestamp: {value[:40]!r}") from None
    elif isinstance(value, dict):
        seconds = value.get("seconds", 0)
        nanos = value.get("nanos", 0)
        result = datetime.fromtimestamp(int(seconds) + int(nanos) / 1e9, _UTC)
    else:
        raise TypeError(f"expected a timestamp string, got {type(value).__name__}")
    return result if result.tzinfo is not None else result.replace(tzinfo=_UTC)


def string(value: Any, _: Any = None) -> str:
    """A string; a number is tolerated (proto3-JSON int64 fields)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def integer(value: Any, _: Any = None) -> int:
    """An ``int``; a numeric string or an integral float is tolerated."""
    if isinstance(value, bool):
        raise TypeError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value)  # proto3-JSON int64 as a string
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise TypeError(f"expected an integer, got {value!r}"[:80])


def boolean(value: Any, _: Any = None) -> bool:
    """A JSON boolean."""
    if isinstance(value, bool):
        return value
    raise TypeError(f"expected a boolean, got {type(value).__name__}")


def json_object(value: Any, _: Any = None) -> dict[str, Any]:
    """A JSON object, as parsed."""
    if isinstance(value, dict):
        return value
    raise TypeError(f"expected an object, got {type(value).__name__}")


# --------------------------------------------------------------------------
# Type shapes


def _enum_of(tp: Any) -> type[WireEnum] | None:
    if get_origin(tp) in (Union, types.UnionType):
        for arg in get_args(tp):
            if isinstance(arg, type) and issubclass(arg, WireEnum):
                return arg
    return None


def _optional_inner(tp: Any) -> Any:
    args = get_args(tp)
    if get_origin(tp) in (Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return None


def _field_type(tp: Any) -> Any:
    """The type a field's hook is for: ``Optional[X]`` unwrapped to ``X`` (a
    ``null`` never reaches the hook); enum unions stay whole."""
    inner = _optional_inner(tp)
    return inner if inner is not None and _enum_of(tp) is None else tp


def _enum_hook(tp: Any) -> Hook:
    from_wire = _enum_of(tp).from_wire  # type: ignore[union-attr]

    def enum(value: Any, _: Any) -> Any:
        return None if value is None else from_wire(value)  # unknown values stay raw

    return enum


def _optional_hook(conv: cattrs.Converter, tp: Any) -> Hook:
    inner = _optional_inner(tp)
    hook = conv.get_structure_hook(inner)

    def optional(value: Any, _: Any) -> Any:
        return None if value is None else hook(value, inner)

    return optional


def _tuple_hook(conv: cattrs.Converter, tp: Any) -> Hook:
    item_type = get_args(tp)[0]
    item_hook = conv.get_structure_hook(item_type)

    def structure_tuple(value: Any, _: Any) -> tuple[Any, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        return tuple([item_hook(item, item_type) for item in value])

    return structure_tuple


def _dict_hook(conv: cattrs.Converter, tp: Any) -> Hook:
    args = get_args(tp)
    value_type = args[1] if len(args) == 2 else Any
    hook = None if value_type is Any else conv.get_structure_hook(value_type)

    def structure_dict(value: Any, _: Any) -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        if hook is None:
            return value
        return {str(k): hook(v, value_type) for k, v in value.items()}

    return structure_dict


def _is_homogeneous_tuple(tp: Any) -> bool:
    args = get_args(tp)
    return get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


# --------------------------------------------------------------------------
# The generated structuring function of a model

_MISSING = object()


def model_hook(conv: cattrs.Converter, cls: Any) -> Hook:
    """The structuring function of one model class, generated once as source.

    It looks each key up in a table of both spellings; an unknown key goes to
    ``extra``; a later spelling of the same field wins. ``str``, ``int``,
    ``bool``, ``Decimal`` and enum fields are converted inline when the value
    has the usual type (what their hook would return), other values and types
    go through the field's hook. The instance is made with ``object.__new__``
    and its slots set directly: the object the attrs ``__init__`` would build
    (the models have no validators or post-init, and ``extra`` is given as an
    :class:`~pmsync.extra.Extra`).
    """
    attrs.resolve_types(cls)
    fields = [f for f in attrs.fields(cls) if f.name != "extra"]
    index: dict[str, int] = {}
    ns: dict[str, Any] = {
        "cls": cls, "new": object.__new__, "index_get": index.get, "FieldError": FieldError,
        "MISSING": _MISSING, "names": [f.name for f in fields], "name": cls.__name__,
        "snake": to_snake, "adopt": Extra.adopt, "EMPTY": EMPTY, "cached": _decimal_cached,
        "set_extra": cls.__dict__["extra"].__set__,
    }
    init: list[str] = []
    branches: list[str] = []
    sets: list[str] = []
    for i, field in enumerate(fields):
        index[field.name] = index[to_camel(field.name)] = i
        ns[f"t{i}"] = field_type = _field_type(field.type)
        ns[f"h{i}"] = conv.get_structure_hook(field_type)
        ns[f"s{i}"] = cls.__dict__[field.name].__set__
        default = field.default
        if default is attrs.NOTHING:
            init.append(f"    v{i} = MISSING")
            sets.append(f"    if v{i} is MISSING:\n"
                        f"        raise TypeError(name + ': missing ' + names[{i}])")
        elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            ns[f"f{i}"] = default.factory
            init.append(f"    v{i} = MISSING")
            sets.append(f"    if v{i} is MISSING:\n        v{i} = f{i}()")
        else:
            ns[f"d{i}"] = default
            init.append(f"    v{i} = d{i}")
        keyword = "if" if i == 0 else "elif"
        branches.append(f"            {keyword} k == {i}:\n" + _conversion(i, field_type, ns))
        sets.append(f"    s{i}(obj, v{i})")
    lines = [
        "def structure(value, _=None):",
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
        "    except FieldError as exc:",
        "        raise FieldError(f'{name}.{names[k]} > {exc}') from exc",
        "    except Exception as exc:",
        "        raise FieldError(f'{name}.{names[k]}: {exc}') from exc",
        "    obj = new(cls)",
        *sets,
        "    set_extra(obj, EMPTY if extra is None else adopt(extra))",
        "    return obj",
    ]
    if not fields:
        lines = [
            "def structure(value, _=None):",
            "    if not isinstance(value, dict):",
            "        raise TypeError(f'{name}: expected an object, got {type(value).__name__}')",
            "    return cls(extra={snake(k): v for k, v in value.items()})",
        ]
    return _compile("\n".join(lines) + "\n", f"structure {cls.__module__}.{cls.__qualname__}", ns)


def _conversion(i: int, field_type: Any, ns: dict[str, Any]) -> str:
    """Source that sets ``v{i}`` from ``item``: the usual case of a scalar field
    inline (the value its hook returns, without the call), else the hook."""
    call = f"h{i}(item, t{i})"
    pad = " " * 16
    enum_cls = _enum_of(field_type)
    if enum_cls is not None:  # WireEnum.from_wire's exact-type case
        ns[f"w{i}"] = enum_cls.__dict__["_wire_table"].get
        return f"{pad}v{i} = w{i}(item, item) if type(item) is int or type(item) is str else {call}"
    if field_type in (str, int, bool):  # string(), integer(), boolean() return such a value as is
        return f"{pad}v{i} = item if type(item) is {field_type.__name__} else {call}"
    if field_type is Decimal:  # decimal()'s cached case
        return (f"{pad}v{i} = cached(item) if type(item) is str else None\n"
                f"{pad}if v{i} is None:\n{pad}    v{i} = {call}")
    return f"{pad}v{i} = {call}"


def _compile(source: str, what: str, ns: dict[str, Any]) -> Hook:
    """Compile generated ``source`` under a unique file name registered in
    :mod:`linecache` (kept for the life of the process, as attrs does)."""
    filename = f"<pmsync generated {what}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), ns)  # noqa: S102
    structure: Hook = ns["structure"]
    return structure


def _build_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=False)
    for tp, hook in ((Decimal, decimal), (m.Amount, amount), (datetime, timestamp),
                     (str, string), (int, integer), (bool, boolean)):
        conv.register_structure_hook(tp, hook)
    conv.register_structure_hook_factory(
        lambda tp: get_origin(tp) is dict or tp is dict,  # type: ignore[comparison-overlap]
        lambda tp: _dict_hook(conv, tp))
    conv.register_structure_hook_factory(lambda tp: _enum_of(tp) is not None, _enum_hook)
    conv.register_structure_hook_factory(
        lambda tp: _optional_inner(tp) is not None and _enum_of(tp) is None,
        lambda tp: _optional_hook(conv, tp))
    conv.register_structure_hook_factory(_is_homogeneous_tuple, lambda tp: _tuple_hook(conv, tp))
    conv.register_structure_hook_factory(
        lambda tp: attrs.has(tp) and tp not in (m.Amount, m.RfqEvent),
        lambda tp: model_hook(conv, tp))
    return conv


#: The one converter of the library (structuring only; hooks made once per type).
converter = _build_converter()


def hook(cls: Any) -> Hook:
    """The converter's structuring function for ``cls``."""
    return converter.get_structure_hook(cls)


# --------------------------------------------------------------------------
# Payloads that are not a plain model

RFQ_VARIANTS = ("rfq_created", "rfq_closed", "quote_created", "quote_deleted",
                "quote_accepted", "quote_confirmed", "quote_executed", "rfq_trade")


@attrs.frozen(slots=True, kw_only=True)
class RfqParts:
    """The fields of an RFQ variant's body (an :class:`~pmsync.rfq.RfqEvent` without its variant)."""

    rfq: m.Rfq | None = None
    quote: m.Quote | None = None
    trade: m.RfqTrade | None = None
    confirmation_deadline: datetime | None = None
    execution_deadline: datetime | None = None
    order_id: str | None = None
    client_order_id: str | None = None
    executed_time: datetime | None = None
    extra: Extra = attrs.field(default=EMPTY)


_rfq_parts = hook(RfqParts)
_RFQ_PART_NAMES = tuple(f.name for f in attrs.fields(RfqParts) if f.name != "extra")
#: Names an RfqEvent already uses: a key beside the variant that has one of
#: them (or one of the variant's own unknown keys) is kept as ``rfq_event.NAME``.
_RFQ_TAKEN = frozenset(_RFQ_PART_NAMES) | {"variant", "extra"}


def rfq_event(value: Any, _: Any = None) -> m.RfqEvent:
    """An :class:`~pmsync.rfq.RfqEvent` from ``{variant: body, ...}``."""
    body = json_object(value)
    for key, content in body.items():
        variant = to_snake(key)
        if variant in RFQ_VARIANTS:
            break
    else:
        # A newer variant: its known-named fields are read, the rest kept.
        key = next(iter(body), "")
        variant, content = (to_snake(key), body[key]) if key else ("unknown", {})
    parts = _rfq_parts(json_object(content) if content is not None else {}, None)
    extra = dict(parts.extra)
    for other, item in body.items():
        if other != key:  # the body's other keys, kept too
            name = to_snake(other)
            if name in extra or name in _RFQ_TAKEN:  # the variant has a field of that name
                name = f"rfq_event.{name}"
            extra[name] = item
    fields = {name: getattr(parts, name) for name in _RFQ_PART_NAMES}
    return m.RfqEvent(variant=variant, extra=Extra.adopt(extra) if extra else EMPTY, **fields)


_HEARTBEAT = m.Heartbeat()


def heartbeat(value: Any, _: Any = None) -> m.Heartbeat:
    """A :class:`~pmsync.models.Heartbeat` (shared when empty)."""
    if not value:
        return _HEARTBEAT
    return m.Heartbeat(extra=Extra.adopt({to_snake(k): v for k, v in json_object(value).items()}))


def with_legacy_balance(inner: Hook) -> Hook:
    """``inner``, and the legacy ``{balance, buying_power}`` shape read as a Balance."""

    def structure(value: Any, _: Any = None) -> Any:
        data = inner(value, _)
        if data.balance is None and data.buying_power is None:
            return data
        legacy = m.Balance(current_balance=data.balance, buying_power=data.buying_power)
        if isinstance(data, m.BalanceSnapshot):
            return data if data.balances else attrs.evolve(data, balances=(legacy,))
        if data.balance_change is None:
            return attrs.evolve(data, balance_change=m.BalanceChange(after_balance=legacy))
        return data

    return structure


def with_legacy_position(inner: Hook) -> Hook:
    """``inner``, and the legacy ``{market_slug, position}`` shape's position as ``after_position``."""

    def structure(value: Any, _: Any = None) -> Any:
        data = inner(value, _)
        if data.position is not None and data.after_position is None:
            return attrs.evolve(data, after_position=data.position)
        return data

    return structure
