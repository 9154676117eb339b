"""Command line: ``python -m pmsync demo``, ``stream`` and ``record``.

``demo`` runs both clients against an in-process mock server and prints a live
feed; ``stream`` prints one JSON line per event from a real (or mock) endpoint,
with credentials from ``POLYMARKET_KEY_ID`` / ``POLYMARKET_SECRET_KEY``;
``record`` writes every frame of one subscription to a JSON-lines file that
``python -m mockserver --replay`` serves back.

Exit status of ``stream`` and ``record``: 0 for a clean end (``--seconds``,
``--count``, or Ctrl-C once connected); 1 when the connection could not be
made, when the server refused the subscription, or when the connection was
lost for good; 2 for a usage error (missing credentials, bad option); 130 for
Ctrl-C before the connection was up. Errors are printed on stderr by the
client's default policy (:mod:`pmsync.report`).
"""

from __future__ import annotations

import argparse
import collections
import enum
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from .auth import Credentials
from .client import DEFAULT_BASE_URL, MarketsClient, PrivateClient, Subscription, _Client
from .codec import Event, to_plain
from .errors import PmsyncError
from .subscription_types import SUBSCRIPTION_TYPES, SubscriptionSpec, SubscriptionTable

__all__ = ["build_parser", "describe", "main", "run_record"]

#: Seconds ``stream`` and ``record`` give the first connect (less with ``--seconds``).
CONNECT_TIMEOUT = 30.0


def _prog() -> str:
    """``pmsync`` when run as the ``pmsync`` script, else ``python -m pmsync``."""
    name = os.path.basename(sys.argv[0] or "")
    return "pmsync" if name in ("pmsync", "pmsync.exe", "pmsync-script.py") else "python -m pmsync"


def build_parser(table: SubscriptionTable = SUBSCRIPTION_TYPES) -> argparse.ArgumentParser:
    """The argument parser of ``python -m pmsync`` (``pmsync`` as the script);
    ``--type`` lists the types of ``table``."""
    parser = argparse.ArgumentParser(
        prog=_prog(),
        description="Synchronous client for the Polymarket US WebSocket API.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run both clients against an in-process mock server and print a live feed",
        description=(
            "Start mockserver in this process on a free port, connect a PrivateClient and a "
            "MarketsClient with the demo credentials, subscribe to every type, print each "
            "event as it arrives, then a count of events per kind."
        ),
    )
    demo.add_argument("--seconds", type=float, default=10.0, help="how long to run (default 10)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the simulated exchange")
    demo.add_argument(
        "--dialect", choices=("snake", "camel"), default="snake",
        help="JSON dialect the mock server answers in (default snake)",
    )
    demo.add_argument("--quiet", action="store_true", help="print only the summary")

    stream = commands.add_parser(
        "stream",
        help="print one JSON line per event of one subscription",
        description=(
            "Connect to an endpoint with credentials from POLYMARKET_KEY_ID and "
            "POLYMARKET_SECRET_KEY, subscribe, and print every event as one JSON line "
            "(heartbeats excluded) until Ctrl-C or --seconds. Exit status: 0 for a clean end, "
            "1 if the connection failed or the server refused the subscription, 2 for a usage "
            "error, 130 for Ctrl-C before connecting."
        ),
    )
    _add_subscription_options(stream, table)
    stream.add_argument("--heartbeats", action="store_true", help="print heartbeats too")

    record = commands.add_parser(
        "record",
        help="write every frame of one subscription to a JSON-lines file",
        description=(
            "Connect with credentials from POLYMARKET_KEY_ID and POLYMARKET_SECRET_KEY, "
            "subscribe, and write a header line then one line {\"t\": <receive time>, "
            "\"text\": <frame>} per frame received (heartbeats included) until Ctrl-C, "
            "--seconds or --count. Serve it back with: python -m mockserver --replay FILE. "
            "Exit status as for stream."
        ),
    )
    _add_subscription_options(record, table)
    record.add_argument("--count", type=int, default=None, metavar="N",
                        help="stop after N frames other than heartbeats")
    record.add_argument("--out", required=True, metavar="FILE", help="output file ('-': stdout)")
    return parser


def _add_subscription_options(parser: argparse.ArgumentParser, table: SubscriptionTable) -> None:
    """The options of one subscription, shared by ``stream`` and ``record``."""
    parser.add_argument("--endpoint", choices=("markets", "private"), required=True)
    parser.add_argument(
        "--type", required=True, dest="type_", metavar="TYPE",
        help="subscription type, e.g. " + ", ".join(row.cli_name for row in table),
    )
    parser.add_argument("--slug", action="append", default=[], help="market slug (repeatable)")
    parser.add_argument("--base-url", default=None,
                        help=f"default $POLYMARKET_WS_URL, else {DEFAULT_BASE_URL}")
    parser.add_argument("--dialect", choices=("snake", "camel"), default="snake",
                        help="dialect of the requests sent (default snake)")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long")
    parser.add_argument(
        "--ca-file", default=None, metavar="PEM",
        help="trust the CA certificates in this PEM file for wss:// (a private CA); "
        "SSL_CERT_FILE=PEM also works",
    )


def _sslopt(args: argparse.Namespace) -> dict[str, Any] | None:
    """``sslopt`` for ``--ca-file``; exits 2 when the file cannot be read."""
    if args.ca_file is None:
        return None
    if not os.path.isfile(args.ca_file) or not os.access(args.ca_file, os.R_OK):
        print(f"error: --ca-file {args.ca_file!r}: no such readable file", file=sys.stderr)
        raise SystemExit(2)
    return {"ca_certs": args.ca_file}


def _connect_timeout(args: argparse.Namespace) -> float:
    return CONNECT_TIMEOUT if args.seconds is None else max(0.1, min(CONNECT_TIMEOUT, args.seconds))


def _never() -> bool:
    return False


def _follow(client: _Client, subscription: Subscription, deadline: float | None,
            done: Callable[[], bool] = _never) -> int:
    """Wait for the end of a ``stream`` or ``record`` run; its exit status.

    1 as soon as the server refused the subscription or the client stopped on
    a fatal error (both already printed on stderr by the client); 0 at
    ``deadline``, when ``done()`` or on Ctrl-C.
    """
    try:
        while True:
            if subscription.status == "failed":  # the client prints why; close() waits for it
                return 1
            if client.closed:
                return 1 if client._fatal is not None else 0
            if done() or (deadline is not None and time.monotonic() >= deadline):
                return 0
            client._done.wait(0.05)
    except KeyboardInterrupt:
        return 0


def _connect(client: _Client, args: argparse.Namespace) -> int | None:
    """Connect; None when up, else the exit status (the error printed)."""
    try:
        client.connect(timeout=_connect_timeout(args))
    except KeyboardInterrupt:
        print("error: interrupted before the connection was up", file=sys.stderr, flush=True)
        return 130
    except PmsyncError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    return None


def _subscription_type(
    endpoint: str, text: str, table: SubscriptionTable = SUBSCRIPTION_TYPES
) -> SubscriptionSpec:
    """The row ``--type`` names: its CLI name, an alias or its wire name, any case."""
    name = text.strip().lower().replace("-", "_")
    if name.startswith("subscription_type_"):
        name = name[len("subscription_type_"):]
    names = table.cli_names(endpoint)
    spec = names.get(name)
    if spec is None:
        choices = ", ".join(row.cli_name for row in table.endpoint(endpoint))
        raise SystemExit(f"error: unknown --type {text!r} for {endpoint}; choose from {choices}")
    return spec


def _named(value: Any, what: str) -> str:
    """An enum's wire name; a number whose name is unpublished as ``"<what> N"``."""
    if value is None:
        return "?"
    if isinstance(value, int) and not isinstance(value, enum.Enum):
        return f"{what} {value}"
    return str(getattr(value, "value", value))


def describe(event: Event) -> str:
    """One readable line for an event."""
    data: Any = event.data
    kind = event.kind
    tag = f"{kind:<17}" + (" [resync]" if event.resync else "")
    if kind == "market_data":
        return f"{tag} {data.market_slug}: bid {data.best_bid} / ask {data.best_ask}"
    if kind == "market_data_lite":
        bid = data.best_bid.value if data.best_bid else None
        ask = data.best_ask.value if data.best_ask else None
        return f"{tag} {data.market_slug}: bid {bid} / ask {ask}"
    if kind == "trade":
        side = _named(data.taker.side if data.taker else None, "side")
        px = data.price.value if data.price else None
        qty = data.quantity.value if data.quantity else None
        return f"{tag} {data.market_slug}: {qty} @ {px} (taker {side})"
    if kind == "order_snapshot":
        return f"{tag} {len(data.orders)} open order(s)" + ("" if data.eof else " (more pages)")
    if kind == "order_update":
        ex = data.execution
        if ex is None:
            return tag
        order_id = ex.order.id if ex.order else None
        what = _named(ex.type, "execution type")
        if ex.last_shares is None:  # no fill: a new or cancelled order
            return f"{tag} {order_id}: {what}"
        px = ex.last_px.value if ex.last_px else None
        return f"{tag} {order_id}: {what}, {ex.last_shares} @ {px}"
    if kind == "position_update":
        after = data.after_position
        return f"{tag} net {after.net if after else None} ({getattr(data.entry_type, 'value', data.entry_type)})"
    if kind == "balance_snapshot":
        return f"{tag} " + ", ".join(f"{b.current_balance} {b.currency}" for b in data.balances)
    if kind == "balance_update":
        change = data.balance_change
        after = change.after_balance if change else None
        return f"{tag} now {after.current_balance if after else None} ({change.description if change else ''})"
    if kind == "rfq_event":
        return f"{tag} {data.variant}"
    if kind == "error":
        return f"{tag} {event.request_id}: {data.error}"
    return f"{tag} {json.dumps(to_plain(event.data))[:100]}"


class _Feed:
    """Collects and prints events from several clients (thread-safe)."""

    def __init__(self, out: TextIO, quiet: bool) -> None:
        self.out = out
        self.quiet = quiet
        self.counts: collections.Counter[str] = collections.Counter()
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def event(self, prefix: str, event: Event) -> None:
        with self._lock:
            self.counts[event.kind] += 1
            if not self.quiet and event.kind != "heartbeat":
                print(f"{prefix} {describe(event)}", file=self.out, flush=True)

    def error(self, prefix: str, error: BaseException) -> None:
        with self._lock:
            self.errors.append(f"{prefix} {type(error).__name__}: {error}")
            print(f"{prefix} error: {error}", file=self.out, flush=True)


def _wire_callbacks(client: _Client, feed: _Feed, prefix: str) -> None:
    from .client import KIND_CALLBACKS

    for name in KIND_CALLBACKS.values():
        setattr(client, name, lambda event, _p=prefix: feed.event(_p, event))
    client.on_error = lambda error: feed.error(prefix, error)


def run_demo(seconds: float, seed: int = 0, dialect: str = "snake", quiet: bool = False,
             out: TextIO = sys.stdout) -> int:
    """The ``demo`` command; returns the exit status."""
    from mockserver import MockServer, demo_credentials

    feed = _Feed(out, quiet)
    with MockServer(seed=seed, dialect=dialect, heartbeat_interval=1.0, tick_interval=0.25) as server:
        credentials = Credentials.from_base64(*demo_credentials(seed))
        print(f"mock server on {server.url} (seed {seed}, {dialect} dialect)", file=out, flush=True)
        markets = server.markets[:3]
        private = PrivateClient(credentials, base_url=server.url)
        market = MarketsClient(credentials, base_url=server.url)
        _wire_callbacks(private, feed, "[private]")
        _wire_callbacks(market, feed, "[markets]")
        try:
            private.connect()
            market.connect()
            private.subscribe_orders()
            private.subscribe_positions()
            private.subscribe_balances()
            private.subscribe_rfq()
            market.subscribe_market_data(markets)
            market.subscribe_market_data_lite(markets)
            market.subscribe_trades(markets)
            for subscription in private.subscriptions + market.subscriptions:
                subscription.wait_snapshot(5.0)
            # Make sure every kind shows up even in a short run.
            server.wait_for_subscription("SUBSCRIPTION_TYPE_RFQ", timeout=5.0)
            server.wait_for_subscription("SUBSCRIPTION_TYPE_TRADE", timeout=5.0)
            server.inject_fill()
            server.inject_rfq()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
            for subscription in market.subscriptions:
                book = market.book(subscription.market_slugs[0]) if subscription.market_slugs else None
                if book is not None and book.full:
                    print(f"book {book.market_slug}: bid {book.best_bid} ask {book.best_ask} "
                          f"mid {book.mid} spread {book.spread}", file=out)
                    break
        except PmsyncError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            private.close()
            market.close()
    print("\nevents per kind:", file=out)
    for kind, count in sorted(feed.counts.items()):
        print(f"  {kind:<18} {count}", file=out)
    print(f"  {'total':<18} {sum(feed.counts.values())}", file=out, flush=True)
    return 0


def run_stream(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """The ``stream`` command; returns the exit status."""
    try:
        credentials = Credentials.from_env()
    except PmsyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sub_type = _subscription_type(args.endpoint, args.type_).member
    sslopt = _sslopt(args)
    lock = threading.Lock()

    def emit(event: Event) -> None:
        if event.kind == "heartbeat" and not args.heartbeats:
            return
        line = json.dumps(to_plain(event), separators=(",", ":"))
        with lock:
            out.write(line + "\n")
            out.flush()

    cls = MarketsClient if args.endpoint == "markets" else PrivateClient
    try:
        # No on_error: the client's default policy prints errors on stderr.
        client = cls(credentials, base_url=args.base_url, dialect=args.dialect, sslopt=sslopt)
    except PmsyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name in ("on_heartbeat", "on_unknown"):
        setattr(client, name, emit)
    try:
        try:
            subscription = client.subscribe(sub_type, args.slug or None, callback=emit)
        except (PmsyncError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        failed = _connect(client, args)
        if failed is not None:
            return failed
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        return _follow(client, subscription, deadline)
    except PmsyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()


def run_record(args: argparse.Namespace) -> int:
    """The ``record`` command; returns the exit status."""
    from .recording import FrameRecorder

    try:
        credentials = Credentials.from_env()
    except PmsyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sub_type = _subscription_type(args.endpoint, args.type_).member
    sslopt = _sslopt(args)
    cls = MarketsClient if args.endpoint == "markets" else PrivateClient
    try:
        client = cls(credentials, base_url=args.base_url, dialect=args.dialect, sslopt=sslopt)
    except PmsyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out: TextIO = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")
    try:
        recorder = FrameRecorder(out, endpoint=args.endpoint, subscription_type=sub_type.value,
                                 market_slugs=args.slug, url=client.url)
        client.on_frame = recorder
        try:
            try:
                subscription = client.subscribe(sub_type, args.slug or None)
            except (PmsyncError, ValueError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            status = _connect(client, args)
            if status is None:
                deadline = None if args.seconds is None else time.monotonic() + args.seconds
                count = args.count
                status = _follow(client, subscription, deadline,
                                 _never if count is None else lambda: recorder.wait_for(count, 0))
        except PmsyncError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
        finally:
            client.close()
        print(f"recorded {recorder.count} frame(s) to {args.out}", file=sys.stderr, flush=True)
        return status
    finally:
        if out is not sys.stdout:
            out.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m pmsync`` and the ``pmsync`` script."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            return run_demo(args.seconds, args.seed, args.dialect, args.quiet)
        if args.command == "record":
            return run_record(args)
        return run_stream(args)
    except KeyboardInterrupt:
        return 130
