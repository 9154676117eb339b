"""Command line: ``python -m mockserver [options]`` runs the mock server until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .protocol import DIALECTS
from .server import MockServer, demo_credentials

__all__ = ["build_parser", "main", "server_from_args"]


def _key(value: str) -> tuple[str, str]:
    key_id, sep, public = value.partition(":")
    if not sep or not key_id or not public:
        raise argparse.ArgumentTypeError(f"expected KEY_ID:PUBLIC_KEY_B64, got {value!r}")
    try:
        raw = base64.b64decode(public, validate=True)
    except (binascii.Error, ValueError):
        raise argparse.ArgumentTypeError(f"public key of {key_id!r} is not valid base64") from None
    if len(raw) != 32:
        raise argparse.ArgumentTypeError(f"public key of {key_id!r} must decode to 32 bytes, got {len(raw)}")
    return key_id, public


def _markets(value: str) -> list[str]:
    slugs = [s.strip() for s in value.split(",") if s.strip()]
    if not slugs:
        raise argparse.ArgumentTypeError("--markets needs at least one slug")
    if len(set(slugs)) != len(slugs):
        raise argparse.ArgumentTypeError("--markets has duplicate slugs")
    return slugs


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m mockserver`` (reusable: add subcommands to it)."""
    parser = argparse.ArgumentParser(
        prog="mockserver",
        description="Mock Polymarket US WebSocket server (/v1/ws/private and /v1/ws/markets) with "
                    "signed-handshake checks, a deterministic simulated exchange, heartbeats, "
                    "fault injection and an HTTP control API under /control/ on the same port.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0,
                        help="TCP port; 0 picks a free one, printed on the ready line (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the simulated exchange and of the demo credentials (default: %(default)s)")
    parser.add_argument("--dialect", choices=DIALECTS, default="snake",
                        help="JSON dialect of responses; a client may override it per connection with "
                             "?dialect=camel|snake on the URL (default: %(default)s)")
    parser.add_argument("--heartbeat-interval", type=_positive, default=5.0, metavar="SECONDS",
                        help="seconds between heartbeats on every connection (default: %(default)s)")
    parser.add_argument("--tick-interval", type=_positive, default=0.5, metavar="SECONDS",
                        help="seconds between simulated exchange steps (default: %(default)s)")
    parser.add_argument("--no-auth", action="store_true",
                        help="accept every handshake without checking the X-PM-* headers")
    parser.add_argument("--key", type=_key, action="append", default=[], metavar="KEY_ID:PUBLIC_KEY_B64",
                        help="register another API key (repeatable); the demo key of --seed is always registered")
    parser.add_argument("--markets", type=_markets, default=None, metavar="SLUG,SLUG,...",
                        help="comma-separated market slugs replacing the default markets")
    parser.add_argument("--log-level", default="WARNING",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                        help="logging level on stderr (default: %(default)s)")
    parser.add_argument("--print-demo-credentials", action="store_true",
                        help='print the demo credentials of --seed as JSON {"key_id": ..., "secret_key": ...} '
                             "and exit")
    return parser


def server_from_args(args: argparse.Namespace) -> MockServer:
    """A (not yet started) MockServer configured from parsed arguments."""
    return MockServer(
        args.host,
        args.port,
        seed=args.seed,
        dialect=args.dialect,
        heartbeat_interval=args.heartbeat_interval,
        tick_interval=args.tick_interval,
        auth=not args.no_auth,
        keys=dict(args.key),
        markets=args.markets,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.print_demo_credentials:
        key_id, secret = demo_credentials(args.seed)
        print(json.dumps({"key_id": key_id, "secret_key": secret}), flush=True)
        return 0
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = server_from_args(args)
    try:
        server.start()
        print(f"mockserver ready on {server.url} (control API: {server.http_url}/control/)", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    leftover = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if leftover:
        logging.getLogger("mockserver.cli").warning("threads left behind: %s", ", ".join(leftover))
    return 0


if __name__ == "__main__":
    sys.exit(main())
