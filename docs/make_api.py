"""Generate ``docs/api.md``, the API reference, from the docstrings of the public names.

    python docs/make_api.py            # rewrite docs/api.md
    python docs/make_api.py --check    # exit 1 if docs/api.md is out of date

Public names: everything in the ``__all__`` of ``pmsync``, ``mockserver`` and
each of their modules (``__main__`` too when it is import-safe), and the public
methods and properties of the public classes (inherited ones included when
they are defined in these packages). Constants are documented by a ``#:``
comment above their assignment. :func:`missing_docstrings` lists what lacks one;
``tests/docs/test_api_docs.py`` fails on it and on a stale ``docs/api.md``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["PACKAGES", "generate", "main", "missing_docstrings", "public_modules"]

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "api.md"
#: The documented packages, in the order of the reference.
PACKAGES = ("pmsync", "mockserver")


def public_modules() -> list[ModuleType]:
    """Each package, then its public modules in name order."""
    modules: list[ModuleType] = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        modules.append(package)
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            if info.name.startswith("_") and info.name != "__main__":
                continue
            if info.name == "__main__":
                source = Path(package.__path__[0], "__main__.py").read_text(encoding="utf-8")
                if 'if __name__ == "__main__"' not in source:
                    continue                       # importing it would run it
            modules.append(importlib.import_module(f"{name}.{info.name}"))
    return modules


def _ours(obj: Any) -> bool:
    return str(getattr(obj, "__module__", "") or "").split(".")[0] in PACKAGES


def _members(cls: type) -> list[tuple[str, Any]]:
    """Public methods and properties of ``cls``, its own first, then inherited ones of our packages."""
    seen: dict[str, Any] = {}
    for klass in cls.__mro__:
        if klass is object or not _ours(klass):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or name in seen:
                continue
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if isinstance(value, property) or inspect.isfunction(value):
                seen[name] = value
    return list(seen.items())


def _constant_comment(module: ModuleType, name: str) -> str | None:
    """The ``#:`` comment above ``NAME =`` in the module that defines it (or any module of the package)."""
    candidates = [module] + [m for m in public_modules() if m.__name__.split(".")[0] == module.__name__.split(".")[0]]
    pattern = re.compile(rf"^{re.escape(name)}\s*(:[^=]+)?=")
    for candidate in candidates:
        try:
            lines = inspect.getsource(candidate).splitlines()
        except (OSError, TypeError):
            continue
        for i, line in enumerate(lines):
            if pattern.match(line):
                comment: list[str] = []
                j = i - 1
                while j >= 0 and lines[j].startswith("#"):
                    comment.insert(0, lines[j])
                    j -= 1
                text = [c[2:].strip() if c.startswith("#:") else None for c in comment]
                if text and all(t is not None for t in text):
                    return " ".join(t for t in text if t)
    return None


def _doc(obj: Any) -> str | None:
    if isinstance(obj, property):
        obj = obj.fget
    doc = inspect.getdoc(obj)
    return doc.strip() if doc else None


def _is_documented_object(obj: Any) -> bool:
    """Classes, functions and other callables (fixtures) carry a docstring; constants and type aliases do not."""
    if inspect.isclass(obj) or inspect.isroutine(obj):
        return True
    return callable(obj) and type(obj).__module__ != "typing"


def missing_docstrings() -> list[str]:
    """Every public name without a docstring (or, for a constant, a ``#:`` comment)."""
    missing: list[str] = []
    for module in public_modules():
        if not _doc(module):
            missing.append(module.__name__)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            qual = f"{module.__name__}.{name}"
            if _is_documented_object(obj):
                if not _doc(obj):
                    missing.append(qual)
                if inspect.isclass(obj) and _ours(obj):
                    missing += [f"{qual}.{m}" for m, value in _members(obj) if not _doc(value)]
            elif _constant_comment(module, name) is None:
                missing.append(qual)
    return sorted(set(missing))


#: Constants whose value depends on the environment: described, not printed, so
#: that the reference is the same wherever it is generated.
RUNTIME_VALUES = {
    "pmsync.codec.BACKEND": "'orjson' when orjson is installed, else 'json'",
}


def _value_repr(value: Any) -> str:
    """A repr that is the same from run to run (sets sorted, no addresses), recursively."""
    if isinstance(value, (set, frozenset)):
        items = ", ".join(sorted(_value_repr(v) for v in value))
        return f"{type(value).__name__}({{{items}}})" if value else f"{type(value).__name__}()"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_value_repr(k)}: {_value_repr(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_value_repr(v) for v in value) + "]"
    if isinstance(value, tuple) and type(value) is tuple:
        return "(" + ", ".join(_value_repr(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return re.sub(r" at 0x[0-9a-f]+", "", repr(value))


def _annotation(value: Any) -> str:
    return value if isinstance(value, str) else inspect.formatannotation(value)


def _signature(obj: Any) -> str:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    parts: list[str] = []
    star_done = False
    for param in sig.parameters.values():
        if param.kind is param.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        prefix = {param.VAR_POSITIONAL: "*", param.VAR_KEYWORD: "**"}.get(param.kind, "")
        if param.kind is param.VAR_POSITIONAL:
            star_done = True
        text = prefix + param.name
        if param.annotation is not param.empty:
            text += f": {_annotation(param.annotation)}"
        if param.default is not param.empty:
            text += f" = {_value_repr(param.default)}"
        parts.append(text)
        if param.kind is param.POSITIONAL_ONLY and (
            param is list(sig.parameters.values())[-1]
            or list(sig.parameters.values())[list(sig.parameters.values()).index(param) + 1].kind
            is not param.POSITIONAL_ONLY
        ):
            parts.append("/")
    out = f"({', '.join(parts)})"
    if sig.return_annotation is not sig.empty:
        out += f" -> {_annotation(sig.return_annotation)}"
    return out


def _init_signature(cls: type) -> str:
    """The constructor's signature; through ``**kwargs`` to the richest ``__init__`` of our bases."""
    inits = [k.__init__ for k in cls.__mro__ if "__init__" in vars(k) and _ours(k)]  # type: ignore[misc]
    if not inits:
        return _signature(cls)
    best = max(inits, key=lambda f: len(inspect.signature(f).parameters))
    return _signature(best).replace("(self, ", "(", 1).replace("(self)", "()", 1)


def _section(module: ModuleType) -> list[str]:
    lines = [f"## `{module.__name__}`", "", _doc(module) or "", ""]
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name)
        qual = f"{module.__name__}.{name}"
        defined = getattr(obj, "__module__", None)
        if module.__name__ in PACKAGES and defined and defined != module.__name__ and _ours(obj):
            lines += [f"### `{qual}`", "", f"Re-exported from `{defined}`: see [`{defined}.{name}`]"
                      f"(#{(defined + '.' + name).replace('.', '').replace('_', '').lower()}).", ""]
            continue
        if inspect.isclass(obj):
            bases = [b.__name__ for b in obj.__bases__ if b is not object]
            head = f"class {name}" + (f"({', '.join(bases)})" if bases else "")
            lines += [f"### `{qual}`", "", "```python", head, name + _init_signature(obj), "```", "",
                      _doc(obj) or "", ""]
            if _ours(obj):
                for member, value in _members(obj):
                    if isinstance(value, property):
                        lines += [f"- **`.{member}`** (property): " + (_doc(value) or "").replace("\n", "\n  ")]
                    else:
                        lines += [f"- **`.{member}{_signature(value)}`**: " + (_doc(value) or "").replace("\n", "\n  ")]
                lines.append("")
        elif _is_documented_object(obj):
            lines += [f"### `{qual}`", "", "```python", f"def {name}{_signature(obj)}", "```", "", _doc(obj) or "", ""]
        else:
            value = RUNTIME_VALUES.get(qual) or _value_repr(obj)
            if len(value) > 300:
                value = value[:300] + " …"
            lines += [f"### `{qual}`", "", f"`{value}`", "", _constant_comment(module, name) or "", ""]
    return lines


def generate() -> str:
    """The text of ``docs/api.md``."""
    lines = ["# API reference", "",
             "Generated by `python docs/make_api.py` from the docstrings; do not edit by hand.", ""]
    modules = public_modules()
    lines += [f"- [`{m.__name__}`](#{m.__name__.replace('.', '').replace('_', '').lower()})" for m in modules]
    lines.append("")
    for module in modules:
        lines += _section(module)
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write ``docs/api.md`` (or, with ``--check``, compare it); returns the exit status."""
    args = sys.argv[1:] if argv is None else argv
    text = generate()
    if "--check" in args:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print("docs/api.md is out of date: run python docs/make_api.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
