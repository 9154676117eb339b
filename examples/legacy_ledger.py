"""A legacy threaded script: keep a position and balance ledger from the private stream.

Callbacks only, no asyncio. It prints one line per change and, on Ctrl-C
(or after --seconds), the final ledger as one JSON line starting with LEDGER.

    python -m mockserver &                       # prints: mockserver ready on ws://127.0.0.1:PORT ...
    export POLYMARKET_KEY_ID=... POLYMARKET_SECRET_KEY=...   # python -m mockserver --print-demo-credentials
    python examples/legacy_ledger.py ws://127.0.0.1:PORT

The base URL comes from argv, else from POLYMARKET_WS_URL, else production.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from decimal import Decimal

import pmsync

_print_lock = threading.Lock()


def say(line: str) -> None:
    """Print one whole line: callbacks (reader thread) and main print concurrently."""
    with _print_lock:
        print(line, flush=True)


class Ledger:
    """Positions (market slug -> net shares) and cash, kept from stream events."""

    def __init__(self) -> None:
        self.lock = threading.Lock()        # callbacks run on the reader thread; main reads
        self.positions: dict[str, Decimal] = {}
        self.balance: Decimal | None = None
        self.fills = 0

    def on_balance_snapshot(self, event: pmsync.Event) -> None:
        with self.lock:
            self.balance = event.data.balances[0].current_balance
        say(f"balance {self.balance}")

    def on_balance_update(self, event: pmsync.Event) -> None:
        after = event.data.balance_change.after_balance
        with self.lock:
            self.balance = after.current_balance
        say(f"balance {after.current_balance} ({event.data.balance_change.description})")

    def on_position_update(self, event: pmsync.Event) -> None:
        after = event.data.after_position
        slug = after.market_metadata.slug
        with self.lock:
            self.positions[slug] = after.net
            self.fills += 1
        say(f"position {slug} {after.net}")

    def as_json(self) -> str:
        with self.lock:
            return json.dumps({"balance": str(self.balance),
                               "positions": {k: str(v) for k, v in sorted(self.positions.items())}})


def main(argv: list[str]) -> int:
    base_url = argv[1] if len(argv) > 1 else None
    seconds = float(argv[argv.index("--seconds") + 1]) if "--seconds" in argv else None
    ledger = Ledger()
    client = pmsync.PrivateClient(
        pmsync.Credentials.from_env(),
        base_url=base_url,
        on_balance_snapshot=ledger.on_balance_snapshot,
        on_balance_update=ledger.on_balance_update,
        on_position_update=ledger.on_position_update,
        on_error=lambda exc: print(f"error {exc}", file=sys.stderr, flush=True),
    )
    client.subscribe_balances()
    client.subscribe_positions()
    try:
        client.connect()
        say("connected")
        if seconds is None:
            client.run_forever()                # until Ctrl-C
        else:
            time.sleep(seconds)
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
        say("LEDGER " + ledger.as_json())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
