#!/bin/sh
# CI against the mock server: no network, no real keys.
#
#   sh examples/ci.sh            (PYTHON=/path/to/python to choose the interpreter)
#
# `python -m mockserver run [server options] -- CMD ARGS...` starts a mock
# server on a free port, runs CMD with PM_MOCKSERVER_URL (ws://...),
# PM_MOCKSERVER_CONTROL_URL (http://..., the control API), POLYMARKET_WS_URL,
# POLYMARKET_KEY_ID and POLYMARKET_SECRET_KEY set, stops the server and exits
# with CMD's status.
set -eu
PYTHON=${PYTHON:-python}
cd "$(dirname "$0")/.."
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

# 1. A smoke test of a bot: the watcher must see both markets' books within 3 s.
$PYTHON -m mockserver run --seed 0 --tick-interval 0.1 -- \
    $PYTHON examples/market_watcher.py --seconds 3 nba-lal-bos-2026-02-01 nfl-kc-buf-2026-01-25 > "$LOG"
grep -q "^BOOK  nba-lal-bos-2026-02-01 bid" "$LOG"
grep -q "^BOOK  nfl-kc-buf-2026-01-25 bid" "$LOG"
echo "watcher ok: $(grep -c '^BOOK' "$LOG") book line(s), $(grep -c '^TRADE' "$LOG" || true) trade(s)"

# 2. The command under test can drive the server through its control API.
$PYTHON -m mockserver run -- sh -c 'curl -sf "$PM_MOCKSERVER_CONTROL_URL/health"' | grep -q '"status"'
echo "control API ok"

# 3. The bot's own tests (they start their servers with the pm_mockserver fixture).
$PYTHON -m mockserver run -- $PYTHON -m pytest -q -p no:cacheprovider examples/test_trading_rule.py
