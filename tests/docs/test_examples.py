"""Every script of ``examples/`` runs against a mock server and prints what it should."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from decimal import Decimal

from mockserver import MockServer

from .conftest import PYTHON, ROOT, Proc, child_env

EXAMPLES = ROOT / "examples"


def _count(lines: list[str], prefix: str) -> int:
    return sum(line.startswith(prefix) for line in lines)


def test_legacy_ledger_matches_the_exchange_after_fills(server: MockServer, run: Callable[..., Proc]) -> None:
    proc = run(PYTHON, str(EXAMPLES / "legacy_ledger.py"), server.url, name="ledger")
    proc.wait_lines(lambda lines: "connected" in lines and _count(lines, "balance ") >= 1)  # the snapshot
    server.wait_for_subscription("SUBSCRIPTION_TYPE_POSITION")
    fills = 3
    filled = {event.slug for _ in range(fills) for event in server.inject_fill() if event.kind == "position"}
    proc.wait_lines(lambda lines: _count(lines, "position ") == fills
                    and _count(lines, "balance ") == 1 + fills)
    assert proc.interrupt() == 0, proc.stderr                                # Ctrl-C prints the ledger
    ledger = json.loads(next(line for line in proc.lines if line.startswith("LEDGER "))[len("LEDGER "):])
    account = server.exchange.account
    assert Decimal(ledger["balance"]) == account.cash
    assert set(ledger["positions"]) == filled
    for slug, net in ledger["positions"].items():
        assert Decimal(net) == account.positions[slug].net


def test_market_watcher_prints_books_and_trades(server: MockServer, run: Callable[..., Proc]) -> None:
    slugs = server.markets[:3]
    proc = run(PYTHON, str(EXAMPLES / "market_watcher.py"), "--base-url", server.url, *slugs, name="watcher")
    lines = proc.wait_lines(lambda lines: _count(lines, "BOOK ") >= len(slugs))
    for slug in slugs:
        book = server.exchange.market_data(slug)
        expected = f"BOOK  {slug} bid {book['bids'][0]['px']['value']} ask {book['offers'][0]['px']['value']}"
        assert expected in lines
    server.wait_for_subscription("SUBSCRIPTION_TYPE_TRADE")
    trades = [e.payload for slug in slugs for e in server.inject_trade(slug) if e.kind == "trade"]
    lines = proc.wait_lines(lambda lines: _count(lines, "TRADE ") == len(trades))
    assert [line for line in lines if line.startswith("TRADE ")] == [
        f"TRADE {t['market_slug']} {t['quantity']['value']} @ {t['price']['value']}" for t in trades]
    assert proc.interrupt() == 0


def test_worker_queue_computes_vwap_per_market(server: MockServer, run: Callable[..., Proc]) -> None:
    slugs = server.markets[:2]
    proc = run(PYTHON, str(EXAMPLES / "worker_queue.py"), "--base-url", server.url, "--max-trades", "6",
               "--idle", "20", *slugs, name="worker")
    server.wait_for_subscription("SUBSCRIPTION_TYPE_TRADE")
    trades = [e.payload for _ in range(3) for slug in slugs for e in server.inject_trade(slug)
              if e.kind == "trade"]
    assert proc.wait() == 0, proc.stderr
    expected = []
    for slug in sorted(slugs):
        mine = [t for t in trades if t["market_slug"] == slug]
        volume = sum(Decimal(t["quantity"]["value"]) for t in mine)
        notional = sum(Decimal(t["quantity"]["value"]) * Decimal(t["price"]["value"]) for t in mine)
        expected.append(f"VWAP {slug} {(notional / volume).quantize(Decimal('0.0001'))} {volume} {len(mine)}")
    assert proc.lines == expected


def test_trading_rule_module_passes_under_pytest(server: MockServer) -> None:
    result = subprocess.run(
        [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         str(EXAMPLES / "test_trading_rule.py")],
        cwd=ROOT, env=child_env(server), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_ci_script_runs_the_checks_under_mockserver_run(server: MockServer) -> None:
    env = child_env(server)
    for name in ("POLYMARKET_WS_URL", "POLYMARKET_KEY_ID", "POLYMARKET_SECRET_KEY"):
        env.pop(name)                          # `mockserver run` provides them
    env["PYTHON"] = PYTHON
    result = subprocess.run(["sh", str(EXAMPLES / "ci.sh")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "watcher ok:" in result.stdout
    assert "control API ok" in result.stdout
    assert "3 passed" in result.stdout
