"""Long chaos run ("soak") of pmsync against mockserver; writes benchmarks/RELIABILITY.md.

    python benchmarks/soak.py --minutes 10 [--seed N] [--rate 1.5] [--report PATH]

A ``PrivateClient`` (orders, balances, positions) and a ``MarketsClient``
(market data, lite, trades on three markets) run against an in-process
``MockServer`` with a fast ticker while ``mockserver.chaos.FaultSchedule``
injects every fault kind at seeded random intervals. Every few seconds the
connections that have ended are checked against what the server sent
(``mockserver.chaos.StreamChecker``, which taps the frames as they are sent:
received == a prefix of what was sent, no loss outside the gap of a drop, no
duplicates, no reordering, resync after every reconnect), then forgotten so
the run stays small.
Thread count, ``tracemalloc`` (pmsync + websocket-client allocations) and RSS
are sampled at the start (after a warm-up) and at the end.

Exit status 0 when every invariant held, 1 otherwise; the report is written
either way.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import platform
import shlex
import sys
import threading
import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pmsync
from mockserver import MockServer, demo_credentials
from mockserver.chaos import FaultSchedule, StreamChecker, StreamReport, StreamTap, summarize_times

HERE = Path(__file__).resolve().parent
TRACE_FILTERS = [tracemalloc.Filter(True, "*/pmsync/*"), tracemalloc.Filter(True, "*/websocket/*")]


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def traced() -> int:
    gc.collect()
    snap = tracemalloc.take_snapshot().filter_traces(TRACE_FILTERS)
    return sum(s.size for s in snap.statistics("filename"))


def mib(n: float) -> str:
    return f"{n / 1048576:.2f} MiB"


class ThreadErrors:
    def __init__(self) -> None:
        self.items: list[str] = []

    def __call__(self, args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread is not None else "?"
        self.items.append(f"{name}: {args.exc_type.__name__}: {args.exc_value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the fault run")
    parser.add_argument("--seed", type=int, default=5, help="seed of the faults and of the exchange")
    parser.add_argument("--rate", type=float, default=1.5, help="mean faults per second")
    parser.add_argument("--tick-interval", type=float, default=0.05, help="mock exchange step (s)")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before the start sample")
    parser.add_argument("--report", type=Path, default=HERE / "RELIABILITY.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    command = "python benchmarks/soak.py " + shlex.join(sys.argv[1:] if argv is None else argv)

    errors = ThreadErrors()
    threading.excepthook = errors
    threads_before = threading.active_count()
    tracemalloc.start(1)
    server = MockServer(seed=args.seed, heartbeat_interval=0.2, tick_interval=args.tick_interval).start()
    credentials = pmsync.Credentials.from_base64(*demo_credentials(args.seed))
    options: dict[str, Any] = dict(base_url=server.url, backoff_initial=0.05, backoff_max=0.5,
                                   heartbeat_timeout=1.0, connect_timeout=5.0, ping_interval=2.0,
                                   queue_size=0)
    private = pmsync.PrivateClient(credentials, **options)
    markets = pmsync.MarketsClient(credentials, **options)
    ptap, mtap = StreamTap("private", "/v1/ws/private"), StreamTap("markets", "/v1/ws/markets")
    ptap.attach(private)
    mtap.attach(markets)
    checkers = [StreamChecker(server, ptap), StreamChecker(server, mtap)]
    duration = args.minutes * 60.0
    schedule = FaultSchedule(server, args.seed, rate=args.rate, duration=duration)
    problems: list[str] = []
    started = time.monotonic()
    samples: dict[str, Any] = {}
    try:
        slugs = server.markets[:3]
        private.connect()
        markets.connect()
        subs = [
            (private.subscribe_orders(), ptap, 1),
            (private.subscribe_balances(), ptap, 1),
            (private.subscribe_positions(), ptap, 0),
            (markets.subscribe_market_data(slugs), mtap, len(slugs)),
            (markets.subscribe_market_data_lite(slugs), mtap, len(slugs)),
            (markets.subscribe_trades(slugs), mtap, 0),
        ]
        for sub, tap, count in subs:
            tap.expect(sub.request_ids[0], count)
        for sub, _, _ in subs:
            sub.wait_snapshot(timeout=10)
        schedule.start()
        schedule.wait(args.warmup)
        samples["start"] = (threading.active_count(), traced(), rss_bytes(), time.monotonic() - started)
        print(f"start sample: threads {samples['start'][0]}, traced {mib(samples['start'][1])}, "
              f"rss {mib(samples['start'][2])}", flush=True)
        last_print = time.monotonic()
        while not schedule.wait(5.0):
            for checker in checkers:
                checker.check()
            if time.monotonic() - last_print >= 60:
                last_print = time.monotonic()
                print(f"{(last_print - started) / 60:.1f} min: {len(schedule.injected)} faults, "
                      f"reconnects {ptap.reconnects}/{mtap.reconnects}, threads "
                      f"{threading.active_count()}, rss {mib(rss_bytes())}", flush=True)
        schedule.stop()
        for tap in (ptap, mtap):
            if not tap.wait_resynced(30):
                problems.append(f"{tap.name}: not resynced 30 s after the run")
        for checker in checkers:
            checker.check()
        samples["end"] = (threading.active_count(), traced(), rss_bytes(), time.monotonic() - started)
    finally:
        schedule.stop()
        private.close()
        markets.close()
        server.stop()
    reports: list[StreamReport] = [checker.check(final=True) for checker in checkers]
    for tap in (ptap, mtap):
        problems += tap.problems
    for report in reports:
        problems += report.problems
    problems += [f"thread exception: {e}" for e in errors.items]
    problems += [f"fault injection: {e}" for e in schedule.errors]
    deadline = time.monotonic() + 10
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        threading.Event().wait(0.05)
    threads_after = threading.active_count()
    if threads_after > threads_before:
        problems.append(f"threads not back to baseline: {threads_before} -> {threads_after}")
    write_report(args, command, schedule, ptap, mtap, reports, samples, threads_before,
                 threads_after, problems, time.monotonic() - started)
    print(f"report written to {args.report}; {len(problems)} problem(s)")
    for problem in problems[:50]:
        print("  " + problem)
    return 1 if problems else 0


def write_report(args: argparse.Namespace, command: str, schedule: FaultSchedule, ptap: StreamTap,
                 mtap: StreamTap, reports: list[StreamReport], samples: dict[str, Any],
                 threads_before: int, threads_after: int, problems: list[str], wall: float) -> None:
    counts = schedule.counts()
    times = summarize_times(ptap.resync_times + mtap.resync_times)
    start = samples.get("start", (0, 0, 0, 0.0))
    end = samples.get("end", (0, 0, 0, 0.0))
    lines = [
        "# Reliability report (soak run)",
        "",
        "Written by `benchmarks/soak.py` (issue 5): a `PrivateClient` (orders, balances, positions)",
        "and a `MarketsClient` (market data, lite and trades on 3 markets) against an in-process",
        "`MockServer` (ticker every %g s, heartbeats every 0.2 s) while `mockserver.chaos.FaultSchedule`"
        % args.tick_interval,
        "injects faults at seeded random intervals. Every connection the clients saw is checked",
        "against the server's send log: what arrived must be exactly a prefix of what the server",
        "sent on that connection (the missing tail is the gap of a drop).",
        "",
        f"- command: `{command}`",
        f"- seed: {args.seed}; mean fault rate {args.rate}/s; fault run {args.minutes:g} min "
        f"(wall time {wall / 60:.1f} min)",
        f"- date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; Python "
        f"{platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPU(s)",
        f"- result: **{'PASS' if not problems else 'FAIL'}** ({len(problems)} problem(s))",
        "",
        "## Faults injected",
        "",
        "| kind | count |",
        "| --- | ---: |",
    ]
    lines += [f"| {kind} | {counts[kind]} |" for kind in sorted(counts)]
    lines += [f"| **total** | **{sum(counts.values())}** |", ""]
    lines += [
        "## Streams",
        "",
        "| | private | markets |",
        "| --- | ---: | ---: |",
    ]
    p, m = reports
    rows = [
        ("connections", p.connections, m.connections),
        ("reconnects", ptap.reconnects, mtap.reconnects),
        ("reconnects fully resynced", p.resynced, m.resynced),
        ("reconnects cut before resync (next fault came first)", p.cut_before_resync,
         m.cut_before_resync),
        ("frames sent by the server", p.frames_sent, m.frames_sent),
        ("frames received by the client", p.frames_received, m.frames_received),
        ("frames in gaps (sent just before a drop, lost with it)", p.gap_frames, m.gap_frames),
        ("**messages lost outside gaps**", p.lost + p.lost_before_close, m.lost + m.lost_before_close),
        ("**duplicates**", p.duplicates, m.duplicates),
        ("unexpected / reordered", p.unexpected, m.unexpected),
        ("decode errors reported (injected malformed frames)", ptap.errors_seen["DecodeError"],
         mtap.errors_seen["DecodeError"]),
        ("on_callback_error calls", ptap.callback_errors, mtap.callback_errors),
    ]
    lines += [f"| {name} | {a} | {b} |" for name, a, b in rows]
    lines += [
        "",
        "## Time from drop to every subscription re-snapshotted",
        "",
        f"Over {times['count']} outages (both clients): median **{times['median'] * 1000:.0f} ms**, "
        f"max **{times['max'] * 1000:.0f} ms** (includes backoff, `Retry-After` of injected 503s "
        "and watchdog detection of heartbeat stalls).",
        "",
        "## Threads and memory",
        "",
        "| | start (after %.0f s warm-up) | end |" % start[3],
        "| --- | ---: | ---: |",
        f"| threads | {start[0]} | {end[0]} |",
        f"| tracemalloc, pmsync + websocket-client | {mib(start[1])} | {mib(end[1])} |",
        f"| RSS of the process (client, server, checker) | {mib(start[2])} | {mib(end[2])} |",
        "",
        f"Threads before the run: {threads_before}; after closing everything: {threads_after}.",
        "",
        "## Problems",
        "",
    ]
    lines += [f"- {problem}" for problem in problems[:100]] or ["None."]
    args.report.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
