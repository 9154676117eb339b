"""Command line of the mock server.

- ``python -m mockserver [options]`` serves until SIGINT/SIGTERM;
- ``python -m mockserver run [options] -- CMD ARGS...`` starts a server, runs
  ``CMD`` with the server's URL and demo credentials in its environment
  (``PM_MOCKSERVER_URL``, ``PM_MOCKSERVER_CONTROL_URL``, ``POLYMARKET_WS_URL``,
  ``POLYMARKET_KEY_ID``, ``POLYMARKET_SECRET_KEY``), stops the server and exits
  with ``CMD``'s exit status: for CI;
- ``--replay FILE [--speed X]`` serves a recording of ``python -m pmsync record``.

A bad option or an environment problem (port in use, missing or malformed
recording, unreadable certificate) is one line on stderr,
``mockserver: error: ...``, and exit status 2.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import errno
import json
import logging
import os
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import NoReturn

from .faults import FAULTS
from .journal import DEFAULT_JOURNAL_SIZE
from .protocol import DIALECTS
from .replay import Recording
from .server import MockServer, demo_credentials

__all__ = ["RUN_ENV", "build_parser", "main", "run_command", "server_from_args", "start_server"]

#: Environment variables ``run`` sets for its command (names only; values come from the server).
RUN_ENV = ("PM_MOCKSERVER_URL", "PM_MOCKSERVER_CONTROL_URL", "POLYMARKET_WS_URL",
           "POLYMARKET_KEY_ID", "POLYMARKET_SECRET_KEY")


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


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None


def _positive(value: str) -> float:
    number = _number(value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value!r}")
    return number


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number between 0 and 65535, got {value!r}")
    return port


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value!r}")
    return number


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (no usage block), exit status 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``<prog>: error: <message>`` and exit 2."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def _speed(value: str) -> float:
    number = _number(value)
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m mockserver`` (reusable: add subcommands to it)."""
    parser = _Parser(
        prog="mockserver",
        description="Mock Polymarket US WebSocket server (/v1/ws/private and /v1/ws/markets) with "
                    "signed-handshake checks, a deterministic simulated exchange, heartbeats, "
                    "fault injection and an HTTP control API under /control/ on the same port.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    parser.add_argument("--port", type=_port, default=0,
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
    parser.add_argument("--replay", action="append", default=[], metavar="FILE",
                        help="serve a recording of 'python -m pmsync record' (repeatable, one per "
                             "subscription type): a subscription of its type gets its frames, with "
                             "request ids rewritten; the simulated exchange publishes nothing")
    parser.add_argument("--speed", type=_speed, default=1.0,
                        help="replay speed: 1.0 keeps the recorded spacing, 2.0 is twice as fast, "
                             "0 sends everything at once (default: %(default)s)")
    parser.add_argument("--journal-size", type=_count, default=DEFAULT_JOURNAL_SIZE, metavar="N",
                        help="frames the journal keeps, the most recent ones (0: none; GET /control/journal "
                             "serves them) (default: %(default)s)")
    parser.epilog = ("Run a command against a fresh server (for CI): mockserver run [options] -- CMD ARGS... "
                     "exports PM_MOCKSERVER_URL, PM_MOCKSERVER_CONTROL_URL, POLYMARKET_WS_URL, "
                     "POLYMARKET_KEY_ID and POLYMARKET_SECRET_KEY to CMD and exits with its status. "
                     "Control API (GET /control/ lists every route with its parameters): "
                     + ", ".join(kind.route + ("?" + "&".join(p.name for p in kind.params) if kind.params else "")
                                 for kind in FAULTS) + ".")
    limits = parser.add_argument_group("TLS and per-connection limits")
    limits.add_argument("--certfile", default=None, metavar="PEM",
                        help="serve wss:// (and https:// for the control API) with this certificate chain")
    limits.add_argument("--keyfile", default=None, metavar="PEM",
                        help="private key of --certfile (if not inside it)")
    limits.add_argument("--open-timeout", type=_positive, default=10.0, metavar="SECONDS",
                        help="a client must complete its opening handshake within this time (default: %(default)s)")
    limits.add_argument("--max-subscriptions", type=int, default=200, metavar="N",
                        help="live subscriptions per connection; one more gets an error response "
                             "(default: %(default)s)")
    limits.add_argument("--max-message-size", type=int, default=1 << 20, metavar="BYTES",
                        help="largest client frame; a larger one closes the connection with 1009 "
                             "(default: %(default)s)")
    chaos = parser.add_argument_group("chaos (seeded fault injection, see mockserver.chaos)")
    chaos.add_argument("--chaos-seed", type=int, default=None, metavar="N",
                       help="inject faults at seeded random intervals, one of: "
                            + ", ".join(f"{name} ({FAULTS.chaos(name)[1].help})" for name in FAULTS.chaos_kinds))
    chaos.add_argument("--chaos-rate", type=_positive, default=1.0, metavar="PER_SECOND",
                       help="mean faults per second with --chaos-seed (default: %(default)s)")
    return parser


def _ssl_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    certfile = getattr(args, "certfile", None)
    if certfile is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, getattr(args, "keyfile", None))
    return context


def _recordings(paths: Sequence[str]) -> list[Recording]:
    recordings = []
    for path in paths:
        try:
            recordings.append(Recording.load(path))
        except FileNotFoundError:
            raise ValueError(f"--replay {path}: no such file") from None
        except OSError as exc:
            raise ValueError(f"--replay {path}: cannot read it ({exc.strerror or exc})") from None
        except (ValueError, UnicodeDecodeError) as exc:
            reason = str(exc).removeprefix(f"{path}: ").removeprefix("not a recording ")
            raise ValueError(f"--replay {path}: not a recording of 'python -m pmsync record' {reason}"
                             if reason.startswith("(") else
                             f"--replay {path}: not a recording of 'python -m pmsync record' ({reason})") from None
    return recordings


def server_from_args(args: argparse.Namespace) -> MockServer:
    """A (not yet started) MockServer configured from parsed arguments; ``ValueError`` says what is wrong."""
    try:
        context = _ssl_context(args)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"--certfile {args.certfile}: cannot load it ({getattr(exc, 'strerror', None) or exc})"
                         ) from None
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
        replay=_recordings(getattr(args, "replay", None) or []) or None,
        replay_speed=getattr(args, "speed", 1.0),
        ssl_context=context,
        open_timeout=getattr(args, "open_timeout", 10.0),
        max_subscriptions=getattr(args, "max_subscriptions", 200),
        max_message_size=getattr(args, "max_message_size", 1 << 20),
        journal_size=getattr(args, "journal_size", DEFAULT_JOURNAL_SIZE),
    )


def _bind_problem(exc: OSError, host: str, port: int) -> str:
    """One line saying why the server could not listen on ``host:port``."""
    if isinstance(exc, socket.gaierror) or (exc.errno is not None and exc.errno < 0):  # getaddrinfo codes
        return f"cannot resolve host {host!r} (--host)"
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} is in use (choose another with --port, or --port 0 for a free one)"
    if exc.errno == errno.EACCES:
        return f"no permission to listen on port {port} (use a port >= 1024, or --port 0)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}: no such local address"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


def start_server(args: argparse.Namespace, parser: argparse.ArgumentParser) -> MockServer:
    """Configure and start a server from ``args``; any problem is ``parser.error`` (one line, exit 2)."""
    try:
        server = server_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        return server.start()
    except OSError as exc:
        parser.error(_bind_problem(exc, args.host, args.port))


def run_command(argv: Sequence[str]) -> int:
    """``mockserver run [options] -- CMD ARGS...``: serve while ``CMD`` runs; return its exit status.

    ``CMD`` gets the server's URL and demo credentials in its environment (see
    :data:`RUN_ENV`). SIGTERM is passed on to it; Ctrl-C reaches it from the
    terminal. The status of a command killed by signal N is 128 + N; a
    command that cannot be started gives 127.
    """
    parser = build_parser()
    parser.prog = "mockserver run"
    parser.usage = "mockserver run [server options] -- CMD [ARGS...]"
    parser.epilog = None
    argv = list(argv)
    if "--" in argv:
        split = argv.index("--")
        options, command = argv[:split], argv[split + 1:]
    elif argv and not argv[0].startswith("-"):
        options, command = [], argv
    else:
        options, command = argv, []
    args = parser.parse_args(options)
    if not command:
        parser.error("no command to run: put it after '--'")
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    env = dict(os.environ)
    server = start_server(args, parser)
    try:
        env.update({
            "PM_MOCKSERVER_URL": server.url,
            "PM_MOCKSERVER_CONTROL_URL": server.http_url,
            "POLYMARKET_WS_URL": server.url,
            "POLYMARKET_KEY_ID": server.demo_key_id,
            "POLYMARKET_SECRET_KEY": server.demo_secret_key,
        })
        print(f"mockserver ready on {server.url}; running: {shlex.join(command)}", file=sys.stderr, flush=True)
        try:
            proc = subprocess.Popen(command, env=env)
        except OSError as exc:
            print(f"mockserver run: cannot run {command[0]!r}: {exc}", file=sys.stderr, flush=True)
            return 126 if isinstance(exc, PermissionError) else 127

        def forward(signum: int, frame: FrameType | None) -> None:
            proc.send_signal(signum)

        previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, forward),
                    signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN)}
        try:
            status = proc.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        server.stop()
    return status if status >= 0 else 128 - status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:
        return run_command(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
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
    server = start_server(args, parser)
    schedule = None
    try:
        print(f"mockserver ready on {server.url} (control API: {server.http_url}/control/)", flush=True)
        if args.chaos_seed is not None:
            from .chaos import FaultSchedule

            schedule = FaultSchedule(server, args.chaos_seed, rate=args.chaos_rate).start()
        while not stop.wait(0.5):
            pass
    finally:
        if schedule is not None:
            schedule.stop()
            counts = schedule.counts()
            logging.getLogger("mockserver.cli").warning("chaos: %d fault(s) injected: %s",
                                                        sum(counts.values()), counts)
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    leftover = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if leftover:
        logging.getLogger("mockserver.cli").warning("threads left behind: %s", ", ".join(leftover))
    return 0


if __name__ == "__main__":
    sys.exit(main())
