"""``python -m pmsync``: the ``demo`` and ``stream`` commands, run as subprocesses.

Issue 4 acceptance: "``python -m pmsync demo --seconds 3`` exits 0 and shows
events of every kind"; scope point 11 (``stream`` prints one JSON line per
event, credentials from the environment; ``--help`` on both).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mockserver

EVERY_KIND = (
    "market_data",
    "market_data_lite",
    "trade",
    "order_snapshot",
    "order_update",
    "position_update",
    "balance_snapshot",
    "balance_update",
    "rfq_event",
    "heartbeat",
)
ENV_VARS = ("POLYMARKET_KEY_ID", "POLYMARKET_SECRET_KEY")


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without credentials, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def demo_env() -> dict[str, str]:
    key_id, secret = mockserver.demo_credentials(0)
    return clean_env(POLYMARKET_KEY_ID=key_id, POLYMARKET_SECRET_KEY=secret)


def pmsync(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 20
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pmsync ARGS`` with this interpreter; fail if it hangs."""
    return subprocess.run(
        [sys.executable, "-m", "pmsync", *args],
        env=clean_env() if env is None else env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def summary_counts(output: str) -> dict[str, int]:
    """The ``events per kind:`` table at the end of the demo's output."""
    marker = "events per kind:"
    assert marker in output, output[-2000:]
    counts: dict[str, int] = {}
    for line in output.split(marker, 1)[1].splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


# --------------------------------------------------------------------- demo


def test_demo_runs_and_shows_every_kind(tmp_path: Path) -> None:
    # Run outside the checkout: the installed package (and mockserver) must suffice.
    result = pmsync("demo", "--seconds", "3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = summary_counts(result.stdout)
    missing = [kind for kind in EVERY_KIND if counts.get(kind, 0) < 1]
    assert not missing, f"no events of kind(s) {missing}; summary: {counts}"
    assert counts["total"] == sum(v for k, v in counts.items() if k != "total")
    # The live feed printed before the summary names the kinds too (heartbeats excepted).
    feed = result.stdout.split("events per kind:", 1)[0]
    for kind in EVERY_KIND:
        if kind != "heartbeat":
            assert kind in feed, f"{kind} not in the live feed"
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------- --help


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), ("demo", "stream")),
        (("demo",), ("--seconds", "--seed", "--dialect", "--quiet")),
        (
            ("stream",),
            (
                "--endpoint",
                "--type",
                "--slug",
                "--base-url",
                "--dialect",
                "--seconds",
                "--heartbeats",
                "POLYMARKET_KEY_ID",
                "POLYMARKET_SECRET_KEY",
            ),
        ),
    ],
    ids=["top", "demo", "stream"],
)
def test_help(args: tuple[str, ...], expected: tuple[str, ...]) -> None:
    result = pmsync(*args, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m pmsync")
    for word in expected:
        assert word in result.stdout, f"{word} not in help of {args or 'pmsync'}"


def test_stream_help_shows_plain_type_metavar() -> None:
    result = pmsync("stream", "--help")
    assert result.returncode == 0
    assert "TYPE_" not in result.stdout


def test_no_command_is_a_usage_error() -> None:
    result = pmsync()
    assert result.returncode == 2
    assert "usage:" in result.stderr


# --------------------------------------------------------------------- stream


def test_stream_prints_json_lines_from_mockserver() -> None:
    with mockserver.MockServer(heartbeat_interval=0.5, tick_interval=0.1) as server:
        slug = server.markets[0]
        result = pmsync(
            "stream",
            "--endpoint", "markets",
            "--type", "market_data",
            "--slug", slug,
            "--base-url", server.url,
            "--seconds", "2",
            env=demo_env(),
        )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines, f"no output; stderr: {result.stderr[-2000:]}"
    events = [json.loads(line) for line in lines]  # every line is one JSON document
    assert all(isinstance(event, dict) for event in events)
    first = events[0]
    assert first["kind"] == "market_data"
    assert first["data"]["market_slug"] == slug
    assert first["subscription_type"] == "SUBSCRIPTION_TYPE_MARKET_DATA"
    # Heartbeats are left out without --heartbeats.
    assert all(event["kind"] != "heartbeat" for event in events)
    assert {event["data"]["market_slug"] for event in events if event["kind"] == "market_data"} == {
        slug
    }


def test_stream_without_credentials_exits_2_naming_the_variables() -> None:
    result = pmsync(
        "stream", "--endpoint", "markets", "--type", "market_data",
        "--base-url", "ws://127.0.0.1:9", "--seconds", "1",
        env=clean_env(),
    )
    assert result.returncode == 2
    for name in ENV_VARS:
        assert name in result.stderr, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def test_stream_with_one_variable_missing_names_it() -> None:
    key_id, _ = mockserver.demo_credentials(0)
    result = pmsync(
        "stream", "--endpoint", "markets", "--type", "market_data",
        "--base-url", "ws://127.0.0.1:9", "--seconds", "1",
        env=clean_env(POLYMARKET_KEY_ID=key_id),
    )
    assert result.returncode == 2
    assert "POLYMARKET_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("endpoint", "choices"),
    [
        ("markets", ("market_data", "market_data_lite", "trade")),
        ("private", ("order", "order_snapshot", "position", "account_balance", "rfq")),
    ],
)
def test_stream_unknown_type_lists_choices(endpoint: str, choices: tuple[str, ...]) -> None:
    # Fails before connecting: the URL is never dialled.
    result = pmsync(
        "stream", "--endpoint", endpoint, "--type", "bogus",
        "--base-url", "ws://127.0.0.1:9", "--seconds", "1",
        env=demo_env(),
    )
    assert result.returncode != 0
    assert "bogus" in result.stderr
    for choice in choices:
        assert choice in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
