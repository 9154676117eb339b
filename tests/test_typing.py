"""mypy (strict, configured in setup.cfg) passes: acceptance point of issue 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api", reason="mypy is not installed")

ROOT = Path(__file__).resolve().parent.parent


def run_mypy(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    monkeypatch.chdir(ROOT)
    stdout, stderr, status = mypy_api.run(args)
    report = f"mypy {' '.join(args) or '(setup.cfg files)'} exited {status}\n{stdout}\n{stderr}"
    print(report)
    assert status == 0, report


@pytest.mark.slow
def test_mypy_strict_pmsync(monkeypatch: pytest.MonkeyPatch) -> None:
    """The library itself is clean under the strict configuration."""
    run_mypy(monkeypatch, ["-p", "pmsync"])


@pytest.mark.slow
def test_mypy_whole_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything setup.cfg lists (pmsync and mockserver) is clean."""
    assert (ROOT / "setup.cfg").is_file()
    assert os.path.isdir(ROOT / "pmsync")
    run_mypy(monkeypatch, [])
