"""The blast server: a separate process, built on ``websockets``, that floods each
client with pre-encoded frames as fast as the socket takes them.

The job is chosen by the URL path prefix, so every client library can ask for it
(the official SDK appends ``/v1/ws/markets`` to its ``base_url``)::

    ws://127.0.0.1:PORT/<dialect>/<n>/<mix>/<rate>/v1/ws/markets

``dialect`` is ``snake`` or ``camel``; ``n`` the number of data frames; ``mix``
``md`` (market data only) or ``mix`` (market data, lite, trade and heartbeat);
``rate`` 0 for as fast as possible (frames pre-encoded with websockets' own frame
serialiser and written in 64 KiB chunks straight to the socket under the
connection's protocol lock), or messages per second: then each market-data frame
carries the send time in ``time.time_ns()`` as ``"bench_ns"`` and goes through
``ServerConnection.send``. Any handshake headers are accepted. After the last
frame the server closes the connection normally (the clients' end sentinel).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import sys
import time
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from websockets.frames import Frame, Opcode
from websockets.sync.server import ServerConnection, serve

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import message  # noqa: E402

#: Request ids of the benchmark subscriptions (clients subscribe with these).
REQUEST_IDS = {"market_data": "bench-md", "market_data_lite": "bench-mdl", "trade": "bench-trade"}

#: One cycle of the realistic mix: 70 % books, 20 % lite, 8 % trades, 2 % heartbeats.
MIX_CYCLE = ["market_data"] * 35 + ["market_data_lite"] * 10 + ["trade"] * 4 + ["heartbeat"]

CHUNK = 64 * 1024


def kinds(n: int, mix: str) -> list[str]:
    if mix == "md":
        return ["market_data"] * n
    cycle = MIX_CYCLE
    return [cycle[i % len(cycle)] for i in range(n)]


def market_data_count(n: int, mix: str) -> int:
    """How many of the ``n`` frames of ``mix`` are market data (without building them)."""
    if mix == "md":
        return n
    cycle = MIX_CYCLE
    full, rest = divmod(n, len(cycle))
    return full * cycle.count("market_data") + cycle[:rest].count("market_data")


@lru_cache(maxsize=8)
def texts(dialect: str) -> dict[str, str]:
    return {kind: message(kind, dialect, REQUEST_IDS.get(kind)) for kind in
            ("market_data", "market_data_lite", "trade", "heartbeat")}


@lru_cache(maxsize=8)
def frames(dialect: str, n: int, mix: str) -> tuple[list[bytes], int, int]:
    """(chunks of pre-encoded frames, total bytes, market-data frames)."""
    encoded = {kind: Frame(Opcode.TEXT, text.encode()).serialize(mask=False)
               for kind, text in texts(dialect).items()}
    names = list(kinds(n, mix))
    sequence = [encoded[kind] for kind in names]
    return chunked(sequence), sum(map(len, sequence)), names.count("market_data")


def chunked(encoded: Iterable[bytes]) -> list[bytes]:
    """Encoded frames joined into chunks of about :data:`CHUNK` bytes, as a socket delivers them."""
    chunks: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for data in encoded:
        current.append(data)
        size += len(data)
        if size >= CHUNK:
            chunks.append(b"".join(current))
            current, size = [], 0
    if current:
        chunks.append(b"".join(current))
    return chunks


def parse_job(path: str) -> tuple[str, int, str, float]:
    parts = [p for p in path.split("?")[0].split("/") if p]
    dialect, n, mix, rate = parts[0], int(parts[1]), parts[2], float(parts[3])
    return dialect, n, mix, rate


def handler(ws: ServerConnection) -> None:
    assert ws.request is not None
    dialect, n, mix, rate = parse_job(ws.request.path)
    # No Nagle: a stamped frame must not wait for the ACK of the previous one.
    ws.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        if rate <= 0:
            chunks, _, _ = frames(dialect, n, mix)
            sock = ws.socket
            for chunk in chunks:
                with ws.protocol_mutex:  # a pong may go out between chunks, never inside
                    sock.sendall(chunk)
        else:
            template = json.loads(texts(dialect)["market_data"])
            payload = "market_data" if dialect == "snake" else "marketData"
            interval = 1.0 / rate
            start = time.perf_counter()
            for i in range(n):
                target = start + i * interval
                while (delay := target - time.perf_counter()) > 0:
                    time.sleep(delay)  # no busy wait: the client needs the other core
                template[payload]["bench_ns"] = time.time_ns()
                ws.send(json.dumps(template, separators=(",", ":")))
        ws.close()
    except Exception:  # noqa: BLE001 - a client that leaves early is fine
        pass


def _serve(ready: Any) -> None:
    with serve(handler, "127.0.0.1", 0, compression=None, ping_interval=None,
               max_size=None, close_timeout=2) as server:
        ready.send(server.socket.getsockname()[1])
        server.serve_forever()


class BlastServer:
    """Start the blast server in a child process; ``url(...)`` builds a job URL."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child,), name="blast-server", daemon=True)
        self.process.start()
        if not parent.poll(30):
            raise RuntimeError("blast server did not start")
        self.port: int = parent.recv()

    def base(self, dialect: str, n: int, mix: str = "md", rate: float = 0) -> str:
        return f"ws://127.0.0.1:{self.port}/{dialect}/{n}/{mix}/{rate:g}"

    def url(self, dialect: str, n: int, mix: str = "md", rate: float = 0) -> str:
        return self.base(dialect, n, mix, rate) + "/v1/ws/markets"

    def close(self) -> None:
        self.process.terminate()
        self.process.join(5)

    def __enter__(self) -> BlastServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
