"""pmsync and mockserver are two implementations of one spec: where they must agree, they do."""

from __future__ import annotations

import ast
from pathlib import Path

import pmsync.client
from mockserver import chaos

MOCKSERVER = Path(chaos.__file__).resolve().parent


def test_chaos_event_callbacks_are_exactly_pmsyncs() -> None:
    assert chaos.EVENT_CALLBACKS == tuple(pmsync.client.KIND_CALLBACKS.values())


def test_every_callback_the_tap_sets_is_a_pmsync_callback() -> None:
    class Recorder:
        def __setattr__(self, name: str, value: object) -> None:
            names.append(name)

    names: list[str] = []
    chaos.StreamTap("t", "/v1/ws/markets").attach(Recorder())
    assert names and set(names) <= set(pmsync.client.CALLBACKS)
    assert set(chaos.EVENT_CALLBACKS) <= set(names)


def test_mockserver_never_imports_pmsyncs_codec() -> None:
    """Only the pytest plugin imports pmsync at all (``Credentials`` for ``pm_credentials``)."""
    for path in MOCKSERVER.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            if not any(m == "pmsync" or m.startswith("pmsync.") for m in modules):
                continue
            assert path.name == "pytest_plugin.py", (path.name, modules)
            assert modules == ["pmsync"] and [a.name for a in node.names] == ["Credentials"]
