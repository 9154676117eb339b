"""Mock server soak: ``python -m mockserver`` under a fast ticker for N minutes.

The mock runs as a subprocess (``--tick-interval``, default journal), so its
RSS is its own. Two raw websocket-client readers subscribe, one per endpoint:
private (orders, positions, balance) and markets (full book of four markets).
Every 5 s the benchmark samples the mock's RSS and each reader's frame count;
it reports the frames per second of each reader (mean, and the slowest
minute), the fills per minute (position updates: one per fill) and the RSS
growth from the end of the warm-up to the end.

``python -m benchmarks --only mockserver-soak [--minutes N]`` (10 minutes by
default, 1 with ``--quick``). Targets (issue 14): each reader >= 2,000
frames/s, RSS growth < 20 MB over 10 minutes, fills in every minute.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import websocket

import pmsync
from mockserver import demo_credentials

from .common import save, table

ROOT = Path(__file__).resolve().parents[1]
TICK_INTERVAL = 0.00005
WARMUP = 60.0
SAMPLE = 5.0
#: Markets of the full-book subscription (fewer renders per step leave CPU for more steps).
BOOK_MARKETS = 4
READY = re.compile(r"mockserver ready on (ws://\S+)")


def rss_of(pid: int) -> int:
    """Resident set size of process ``pid`` in bytes (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class Reader:
    """One raw subscribed connection: counts frames (and position updates) in its own thread."""

    def __init__(self, url: str, path: str, requests: list[dict[str, Any]]) -> None:
        creds = pmsync.Credentials.from_base64(*demo_credentials(0))
        headers = creds.sign_handshake(path)
        self.ws = websocket.create_connection(url + path, header=[f"{k}: {v}" for k, v in headers.items()],
                                              timeout=30, skip_utf8_validation=True)
        for request in requests:
            self.ws.send(json.dumps({"subscribe": request}))
        self.frames = 0
        self.fills = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"soak-reader-{path.rsplit('/', 1)[-1]}")
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                text = self.ws.recv()
                self.frames += 1
                if "position_subscription" in text:
                    self.fills += 1
        except BaseException as exc:  # noqa: BLE001 - reported in the results
            if not self._stop.is_set():
                self.error = exc

    def close(self) -> None:
        """Stop reading and close the connection."""
        self._stop.set()
        try:
            self.ws.close(timeout=2)
        except (OSError, websocket.WebSocketException):
            pass
        self.thread.join(10)


def soak(minutes: float, tick_interval: float = TICK_INTERVAL, warmup: float = WARMUP) -> dict[str, Any]:
    """Run the mock for ``warmup`` seconds plus ``minutes``; return the figures."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "--port", "0", "--tick-interval", str(tick_interval),
         "--heartbeat-interval", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    readers: list[Reader] = []
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = READY.search(line)
        if not match:
            raise RuntimeError(f"mockserver did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
        url = match.group(1)
        slugs = json.loads(subprocess.run(
            [sys.executable, "-c", "import json, mockserver; print(json.dumps(list(mockserver.DEFAULT_MARKETS)))"],
            capture_output=True, text=True, check=True).stdout)
        private = Reader(url, "/v1/ws/private", [
            {"request_id": "orders", "subscription_type": 1},
            {"request_id": "positions", "subscription_type": 3},
            {"request_id": "balance", "subscription_type": 4}])
        markets = Reader(url, "/v1/ws/markets", [
            {"request_id": "book", "subscription_type": 1, "market_slugs": slugs[:BOOK_MARKETS]}])
        readers = [private, markets]
        samples: list[dict[str, Any]] = []
        started = time.monotonic()
        end = started + warmup + minutes * 60.0
        next_sample = started
        while time.monotonic() < end:
            time.sleep(max(0.0, next_sample - time.monotonic()))  # a benchmark pacing its samples
            next_sample += SAMPLE
            samples.append({"t": time.monotonic() - started, "rss": rss_of(proc.pid),
                            "private": private.frames, "markets": markets.frames, "fills": private.fills})
            if proc.poll() is not None:
                raise RuntimeError(f"mockserver exited with {proc.returncode}")
    finally:
        for reader in readers:
            reader.close()
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    errors = [repr(r.error) for r in readers if r.error is not None]
    return summarize(samples, warmup, tick_interval, errors, proc.returncode, err)


def summarize(samples: list[dict[str, Any]], warmup: float, tick_interval: float, errors: list[str],
              status: int | None, stderr: str) -> dict[str, Any]:
    """Rates, fills per minute and RSS growth from the 5-second samples."""
    after = [s for s in samples if s["t"] >= warmup]
    first, last = after[0], after[-1]
    span = last["t"] - first["t"]
    per_minute = int(60 / SAMPLE)
    minutes = [after[i:i + per_minute + 1] for i in range(0, len(after) - per_minute, per_minute)]

    def rate(a: dict[str, Any], b: dict[str, Any], key: str) -> float:
        return (b[key] - a[key]) / (b["t"] - a["t"])

    return {
        "tick_interval": tick_interval,
        "minutes": span / 60,
        "private_fps": rate(first, last, "private"),
        "markets_fps": rate(first, last, "markets"),
        "private_fps_min_minute": min((rate(m[0], m[-1], "private") for m in minutes), default=0.0),
        "markets_fps_min_minute": min((rate(m[0], m[-1], "markets") for m in minutes), default=0.0),
        "fills_per_minute_min": min((m[-1]["fills"] - m[0]["fills"] for m in minutes), default=0),
        "fills_total": last["fills"] - first["fills"],
        "rss_warm_mb": first["rss"] / 2**20,
        "rss_end_mb": last["rss"] / 2**20,
        "rss_max_mb": max(s["rss"] for s in after) / 2**20,
        "rss_growth_mb": (last["rss"] - first["rss"]) / 2**20,
        "reader_errors": errors,
        "exit_status": status,
        "stderr_tail": stderr.strip().splitlines()[-3:],
    }


def run(quick: bool = False, minutes: float | None = None) -> dict[str, Any]:
    """The benchmark entry point (``python -m benchmarks --only mockserver-soak``)."""
    res = soak(minutes if minutes is not None else (1.0 if quick else 10.0),
               warmup=20.0 if quick else WARMUP)
    rows = [["private (orders, positions, balance)", res["private_fps"], res["private_fps_min_minute"]],
            [f"markets (book of {BOOK_MARKETS} markets)", res["markets_fps"], res["markets_fps_min_minute"]]]
    text = table(f"Mock server soak: {res['minutes']:.1f} min after warm-up, ticker every {res['tick_interval']} s",
                 ["reader", "frames/s", "slowest minute frames/s"], rows)
    extra = (f"\nfills per minute (slowest minute): {res['fills_per_minute_min']}, total {res['fills_total']}\n"
             f"mock RSS: {res['rss_warm_mb']:.1f} MB after warm-up, {res['rss_end_mb']:.1f} MB at the end "
             f"(max {res['rss_max_mb']:.1f}; growth {res['rss_growth_mb']:+.1f} MB)\n")
    if res["reader_errors"]:
        extra += f"reader errors: {res['reader_errors']}\n"
    print(extra, flush=True)
    text += extra
    save("mockserver_soak", res)
    res["table"] = text
    return res
