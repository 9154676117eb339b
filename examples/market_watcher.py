"""Watch several markets: print the best bid/ask after every book change, and every trade.

    python examples/market_watcher.py [--base-url URL] [--seconds N] SLUG [SLUG ...]

Credentials from POLYMARKET_KEY_ID / POLYMARKET_SECRET_KEY; the base URL from
--base-url, else POLYMARKET_WS_URL, else production. Ctrl-C stops it. Errors
are printed on stderr; if the server refuses every subscription (a typo'd
slug) it stops at once with exit status 1.
"""

from __future__ import annotations

import argparse
import sys
import threading

import pmsync


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("slugs", nargs="+", metavar="SLUG")
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long")
    args = parser.parse_args(argv)
    print_lock = threading.Lock()
    last: dict[str, tuple[object, object]] = {}

    def say(line: str) -> None:
        with print_lock:
            print(line, flush=True)

    def on_book(event: pmsync.Event) -> None:
        book = event.data                             # pmsync.models.MarketData
        quote = (book.best_bid, book.best_ask)
        if last.get(book.market_slug) != quote:       # print changes only
            last[book.market_slug] = quote
            say(f"BOOK  {book.market_slug} bid {book.best_bid} ask {book.best_ask}")

    def on_trade(event: pmsync.Event) -> None:
        trade = event.data                            # pmsync.models.Trade
        say(f"TRADE {trade.market_slug} {trade.quantity.value} @ {trade.price.value}")

    refused = threading.Event()

    def on_error(error: Exception) -> None:
        print(f"error: {error}", file=sys.stderr, flush=True)
        if isinstance(error, pmsync.SubscriptionError) and not client.subscriptions:
            refused.set()                             # nothing left to watch
            client.close()                            # safe from a callback

    client = pmsync.MarketsClient(pmsync.Credentials.from_env(), base_url=args.base_url,
                                  on_market_data=on_book, on_trade=on_trade, on_error=on_error)
    client.subscribe_market_data(args.slugs)          # before connecting: both are sent
    client.subscribe_trades(args.slugs)               # on connect, before any refusal can come
    with client:                                      # connects; closes at the end
        if args.seconds is None:
            client.run_forever()                      # Ctrl-C closes cleanly
        else:
            try:
                refused.wait(args.seconds)
            except KeyboardInterrupt:
                pass
    return 1 if refused.is_set() else 0


if __name__ == "__main__":
    sys.exit(main())
