"""Every public name has a docstring, and docs/api.md is what docs/make_api.py generates."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from .conftest import ROOT


def _make_api() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_api", ROOT / "docs" / "make_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_api", module)
    spec.loader.exec_module(module)
    return module


def test_every_public_name_has_a_docstring() -> None:
    missing = _make_api().missing_docstrings()
    assert not missing, "public names without a docstring (or a '#:' comment for a constant):\n  " + \
        "\n  ".join(missing)


def test_api_reference_is_up_to_date() -> None:
    api = _make_api()
    current = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert current == api.generate(), "docs/api.md is out of date: run python docs/make_api.py"


def test_api_reference_covers_every_public_name() -> None:
    api = _make_api()
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for module in api.public_modules():
        assert f"## `{module.__name__}`" in text
        for name in getattr(module, "__all__", ()):
            assert f"### `{module.__name__}.{name}`" in text, f"{module.__name__}.{name}"
    for method in ("subscribe_market_data", "run_forever", "messages", "wait_snapshot", "inject_fill"):
        assert f"**`.{method}(" in text, method
