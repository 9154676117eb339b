"""The official TypeScript SDK (npm ``polymarket-us``), unmodified, against ``--dialect camel``.

Runs ``examples/typescript_sdk.cjs`` exactly as the README says. Skipped unless
``node`` is on PATH and the package is installed: in ``node_modules`` of the
repository or of ``examples/``, or in the directory named by ``PM_NODE_MODULES``
(CI does not install npm packages; run ``npm install polymarket-us`` to enable it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import PYTHON, ROOT

EXAMPLE = ROOT / "examples" / "typescript_sdk.cjs"


def node_modules() -> Path | None:
    """Where ``polymarket-us`` is installed, if anywhere we look."""
    candidates = [Path(os.environ["PM_NODE_MODULES"])] if os.environ.get("PM_NODE_MODULES") else []
    candidates += [ROOT / "node_modules", ROOT / "examples" / "node_modules"]
    return next((c for c in candidates if (c / "polymarket-us" / "package.json").is_file()), None)


@pytest.fixture
def node_env() -> dict[str, str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    modules = node_modules()
    if modules is None:
        pytest.skip("npm package polymarket-us is not installed (npm install polymarket-us, or PM_NODE_MODULES)")
    return {**os.environ, "NODE_PATH": str(modules), "PM_EXAMPLE_TIMEOUT_MS": "20000"}


def test_typescript_sdk_gets_every_event_it_knows_in_camel_dialect(node_env: dict[str, str]) -> None:
    result = subprocess.run([PYTHON, "-m", "mockserver", "run", "--dialect", "camel", "--heartbeat-interval", "0.5",
                             "--", "node", str(EXAMPLE)], cwd=ROOT, env=node_env, capture_output=True, text=True,
                            timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK "), result.stdout


def test_typescript_sdk_gets_nearly_nothing_in_snake_dialect(node_env: dict[str, str]) -> None:
    node_env["PM_EXAMPLE_TIMEOUT_MS"] = "1500"
    result = subprocess.run([PYTHON, "-m", "mockserver", "run", "--heartbeat-interval", "0.5",
                             "--", "node", str(EXAMPLE)], cwd=ROOT, env=node_env, capture_output=True, text=True,
                            timeout=90)
    assert result.returncode == 1 and "MISSING orderSnapshot=0" in result.stdout, result.stdout + result.stderr
