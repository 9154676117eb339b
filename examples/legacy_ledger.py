"""A legacy threaded script: keep a position and balance ledger from the private stream.

Callbacks only, no asyncio. It prints one line per change and, on Ctrl-C
(or after --seconds), the final ledger as one JSON line starting with LEDGER.

    python -m mockserver &                       # prints: mockserver ready on ws://127.0.0.1:PORT ...
    export POLYMARKET_KEY_ID=... POLYMARKET_SECRET_KEY=...   # python -m mockserver --print-demo-credentials
    python examples/legacy_ledger.py [--seconds N] [BASE_URL]

The base URL comes from the command line, else from POLYMARKET_WS_URL, else
production. Errors are printed on stderr; if the server refuses a
subscription the script stops and exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", nargs="?", default=None, metavar="BASE_URL",
                        help="ws:// or wss:// URL (default: $POLYMARKET_WS_URL, else production)")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long")
    args = parser.parse_args(argv)
    ledger = Ledger()
    refused = threading.Event()

    def on_error(error: Exception) -> None:
        print(f"error: {error}", file=sys.stderr, flush=True)
        if isinstance(error, pmsync.SubscriptionError):
            refused.set()                       # the ledger would be incomplete: stop
            client.close()                      # safe from a callback; run_forever() returns

    client = pmsync.PrivateClient(
        pmsync.Credentials.from_env(),
        base_url=args.base_url,
        on_balance_snapshot=ledger.on_balance_snapshot,
        on_balance_update=ledger.on_balance_update,
        on_position_update=ledger.on_position_update,
        on_error=on_error,
    )
    client.subscribe_balances()
    client.subscribe_positions()
    try:
        client.connect()
        say("connected")
        if args.seconds is None:
            client.run_forever()                # until Ctrl-C
        else:
            refused.wait(args.seconds)
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
        say("LEDGER " + ledger.as_json())
    return 1 if refused.is_set() else 0


if __name__ == "__main__":
    sys.exit(main())
