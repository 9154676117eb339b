"""Refusing attributes a client does not have: ``client.on_trades = print`` raises.

A typo'd callback set as an attribute would otherwise be accepted and never
called. :class:`StrictAttributes` makes setting an unknown public name an
:class:`AttributeError` that names the closest valid one.
"""

from __future__ import annotations

import difflib
from typing import Any, ClassVar

__all__ = ["StrictAttributes", "unknown_attribute"]


def unknown_attribute(owner: str, name: str, callbacks: tuple[str, ...],
                      others: frozenset[str] = frozenset()) -> AttributeError:
    """The error for setting ``name``, unknown to ``owner``: names the closest valid name."""
    close = difflib.get_close_matches(name, list(callbacks) + sorted(others), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return AttributeError(
        f"{owner} has no attribute {name!r}{hint} (callbacks: {', '.join(callbacks)})"
    )


class StrictAttributes:
    """Mixin: setting a public attribute the class does not declare raises ``AttributeError``.

    Known names: ``_CALLBACKS`` (which must be callables or ``None``),
    ``_ATTRIBUTES``, and whatever the class defines. A user's subclass keeps
    the freedom to add its own attributes, except unknown ``on_*`` names,
    which are refused as typo'd callbacks. Private (``_``) names are not checked.
    """

    _CALLBACKS: ClassVar[tuple[str, ...]] = ()
    _ATTRIBUTES: ClassVar[frozenset[str]] = frozenset()

    def __setattr__(self, name: str, value: Any, _set: Any = object.__setattr__) -> None:
        if name[0] == "_":  # the client's own state, set on the hot path: no check
            _set(self, name, value)
            return
        cls = type(self)
        if name in cls._CALLBACKS:
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be callable or None, got {value!r}")
        elif name not in cls._ATTRIBUTES and not hasattr(cls, name) and (
            name.startswith("on_") or cls.__module__.split(".")[0] == "pmsync"
        ):
            raise unknown_attribute(cls.__name__, name, cls._CALLBACKS, cls._ATTRIBUTES)
        _set(self, name, value)
