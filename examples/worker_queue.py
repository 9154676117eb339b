"""A messages() consumer feeding a worker thread: per-market VWAP of trade prints.

The main thread reads events from client.messages() (a bounded queue filled by
the reader thread) and hands trades to a worker thread through a queue.Queue;
the worker keeps the volume-weighted average price of each market. At the end
it prints one line per market: "VWAP <slug> <price> <quantity> <trades>".

    python examples/worker_queue.py [--base-url URL] [--max-trades N] [--idle S] SLUG [SLUG ...]

It stops after --max-trades trades, after --idle seconds without an event, or on Ctrl-C.
Errors are printed on stderr; if the server refuses the subscription (a typo'd
slug) it stops at once with exit status 1.
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
from decimal import Decimal

import pmsync

STOP = None


def worker(jobs: queue.Queue[pmsync.Event | None], totals: dict[str, list[Decimal]]) -> None:
    """Consume trades until STOP; totals[slug] = [notional, quantity, count]."""
    while (event := jobs.get()) is not STOP:
        trade = event.data
        qty = trade.quantity.value
        notional, volume, count = totals.setdefault(trade.market_slug, [Decimal(0)] * 3)
        totals[trade.market_slug] = [notional + qty * trade.price.value, volume + qty, count + 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("slugs", nargs="+", metavar="SLUG")
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--max-trades", type=int, default=None)
    parser.add_argument("--idle", type=float, default=30.0, help="stop after this long without an event")
    args = parser.parse_args(argv)

    jobs: queue.Queue[pmsync.Event | None] = queue.Queue()
    totals: dict[str, list[Decimal]] = {}
    thread = threading.Thread(target=worker, args=(jobs, totals), name="vwap-worker")
    thread.start()
    seen = 0
    refused = threading.Event()

    def on_error(error: Exception) -> None:
        print(f"error: {error}", file=sys.stderr, flush=True)
        if isinstance(error, pmsync.SubscriptionError) and not client.subscriptions:
            refused.set()
            client.close()                            # ends the messages() loop

    client = pmsync.MarketsClient(pmsync.Credentials.from_env(), base_url=args.base_url, on_error=on_error)
    try:
        with client:
            client.subscribe_trades(args.slugs)
            for event in client.messages(timeout=args.idle):
                if event.kind == "trade":
                    jobs.put(event)
                    seen += 1
                    if args.max_trades is not None and seen >= args.max_trades:
                        break
    except KeyboardInterrupt:
        pass
    finally:
        jobs.put(STOP)
        thread.join()
    for slug, (notional, volume, count) in sorted(totals.items()):
        print(f"VWAP {slug} {(notional / volume).quantize(Decimal('0.0001'))} {volume} {count}", flush=True)
    return 1 if refused.is_set() else 0


if __name__ == "__main__":
    sys.exit(main())
