"""The fields a model does not know, kept read-only (keep, never drop).

Every model of :mod:`pmsync.models` has an ``extra`` attribute: an :class:`Extra`
mapping of the fields the server sent that this version of pmsync does not
model, by snake_case name, with their values as parsed from the JSON (objects
as dicts, arrays as lists, numbers as ``int``/``float``). It is empty when the
server sent nothing new. :func:`pmsync.codec.to_plain` merges it into its output.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs

__all__ = ["EMPTY", "Extra", "extra_field"]


class Extra(Mapping[str, Any]):
    """A read-only mapping of unmodelled fields: snake_case name → value as sent."""

    __slots__ = ("_data",)
    _data: dict[str, Any]

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "_data", dict(data) if data else {})

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Extra({self._data!r})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Extra is read-only")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Extra, (self._data,))

    @classmethod
    def adopt(cls, data: dict[str, Any]) -> Extra:
        """Wrap ``data`` without copying it (the codec's own fresh dicts)."""
        extra = object.__new__(cls)
        object.__setattr__(extra, "_data", data)
        return extra


#: The empty :class:`Extra` every model starts with (shared; it cannot change).
EMPTY = Extra()


def _freeze(value: Any) -> Extra:
    if isinstance(value, Extra):
        return value
    return Extra(value) if value else EMPTY


def extra_field() -> Any:
    """The ``extra`` attribute of a model: read-only, compared, not hashed."""
    return attrs.field(default=EMPTY, converter=_freeze, hash=False, kw_only=True,
                       repr=lambda extra: repr(dict(extra)))
