"""Pipeline: where the time of one market-data frame goes, in-process, no socket.

The blast server's own pre-encoded frames are served from memory in 64 KiB
chunks (what one ``recv`` of a loaded socket returns) and taken through the
receive path one stage at a time, each stage including the ones before it:

- pmsync's framing: websockets' sans-I/O ``Protocol`` behind
  :class:`pmsync.framing.Wire` (``feed`` per chunk, each frame's data as bytes);
- + ``orjson.loads`` / + ``json.loads`` of the payload (what an untyped client does);
- + ``pmsync.codec.decode`` (typed, Decimal-exact events);
- + the client's whole ``frame_received``: decode, routing, book cache and an
  ``on_market_data`` callback reading best bid and ask (the throughput
  benchmark's pmsync client minus the socket and the reader loop), or reading
  price and size of every level of both sides.

For reference: websocket-client's framing (``recv_data_frame`` over the same
chunks, served from a read buffer), and the official SDK's transport,
``websockets``, as its sans-I/O protocol (``receive_data`` + ``events_received``)
+ ``json.loads`` + a callback reading best bid and ask (or every level) from the dict.

Each figure is the best of 5 passes over N frames; the differences between
rows are the cost of each stage.

Then the whole path (framing to callback, every level read) against the SDK's
stack on three other streams: the mix (70 % market data, 20 % lite, 8 % trade,
2 % heartbeat; only market data has a callback, on both sides), and two
:mod:`benchmarks.varied` streams of 50 markets whose levels change (``delta``:
one level per book; ``random``: every level new), because the blast frames
repeat one book and so flatter any cache keyed by text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import websocket

from pmsync import codec
from pmsync.framing import Wire

from . import clients
from .blast import frames, texts
from .varied import varied_chunks
from .common import save, table


class _MemorySocket:
    """The chunks of a blast, one per ``recv``."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)

    def recv(self, bufsize: int) -> bytes:
        return next(self._chunks, b"")

    def settimeout(self, value: float | None) -> None:
        pass


class _BufferedMemorySocket(_MemorySocket):
    """The same chunks to websocket-client, which asks for a few bytes at a time."""

    def __init__(self, chunks: list[bytes]) -> None:
        super().__init__(chunks)
        self._data = b""
        self._pos = 0

    def recv(self, bufsize: int) -> bytes:
        if self._pos >= len(self._data):
            self._data, self._pos = super().recv(bufsize), 0
        end = self._pos + bufsize
        data, self._pos = self._data[self._pos:end], end
        return data

    def gettimeout(self) -> float | None:
        return 5.0


def _websocket_client_pass(chunks: list[bytes], n: int) -> float:
    ws = websocket.WebSocket(skip_utf8_validation=True)
    ws.sock = _BufferedMemorySocket(chunks)
    ws.connected = True
    recv = ws.recv_data_frame
    start = time.perf_counter()
    for _ in range(n):
        recv(True)
    return time.perf_counter() - start


def _messages(chunks: list[bytes]) -> Iterator[bytes]:
    """The messages of the chunks, as pmsync's reader gets them from its Wire."""
    feed = Wire(type("WS", (), {"sock": _MemorySocket(chunks)})()).feed
    for chunk in chunks:
        for frame in feed(chunk):
            yield bytes(frame.data)


def _client(on_market_data: Callable[[Any], None]) -> Any:
    client = clients._markets_client("snake", on_market_data)
    client.connection_made(lambda frames: True, False)  # as if connected; sends nothing
    client.frame_received(1, texts("snake")["market_data"].encode())  # the snapshot
    return client


def _pass(chunks: list[bytes], n: int, stage: str) -> float:
    messages = _messages(chunks)
    start = 0.0
    if stage == "framing":
        start = time.perf_counter()
        for _ in messages:
            pass
    elif stage in ("orjson", "json"):
        import orjson

        loads = orjson.loads if stage == "orjson" else json.loads
        start = time.perf_counter()
        for data in messages:
            loads(data)
    elif stage == "decode":
        decode = codec.decode
        start = time.perf_counter()
        for data in messages:
            decode(data, "markets")
    else:
        client = _client(clients._EveryLevel() if stage == "client-every" else clients._BestBidAsk())
        received = client.frame_received
        start = time.perf_counter()
        for data in messages:
            received(1, data)
        elapsed = time.perf_counter() - start
        client.close()
        return elapsed
    return time.perf_counter() - start


def _sdk_like_pass(chunks: list[bytes], n: int, every_level: bool = False,
                   mix: bool = False) -> float:
    from websockets.protocol import Protocol, Side, State

    # The client side of an open connection (the handshake is not measured).
    protocol = Protocol(Side.CLIENT, state=State.OPEN, max_size=None)
    sink: list[Any] = []
    loads = json.loads
    start = time.perf_counter()
    got = 0
    for chunk in chunks:
        protocol.receive_data(chunk)
        for frame in protocol.events_received():
            got += 1
            message = loads(frame.data)
            if mix and "market_data" not in message:
                continue
            book = message["market_data"]
            if every_level:
                for level in book["bids"]:
                    sink.append((level["px"]["value"], level["qty"]))
                for level in book["offers"]:
                    sink.append((level["px"]["value"], level["qty"]))
            else:
                sink.append((book["bids"][0]["px"]["value"], book["offers"][0]["px"]["value"]))
            sink.clear()
        if got >= n:
            break
    return time.perf_counter() - start


STAGES = [
    ("framing", "pmsync framing: websockets' sans-I/O Protocol (Wire.feed, from memory)"),
    ("orjson", "+ orjson.loads"),
    ("json", "+ json.loads"),
    ("decode", "+ pmsync.codec.decode (orjson)"),
    ("client", "+ dispatch: MarketsClient.frame_received, callback reads best bid/ask (orjson)"),
    ("client-every", "+ dispatch, callback reads every level, px and qty (orjson)"),
    ("decode-json", "+ pmsync.codec.decode (json back end)"),
    ("client-json", "+ dispatch (json back end)"),
]


STREAMS = [
    ("mix", "the mix 70/20/8/2 (callback on market data only)"),
    ("delta", "market data, 50 markets, one level changes per book"),
    ("random", "market data, 50 markets, every level new (worst case for caches)"),
]


def run(quick: bool = False) -> dict[str, Any]:
    n = 20_000 if quick else 100_000
    chunks, _, _ = frames("snake", n, "md")
    results: dict[str, float] = {}
    stream_rows: list[list[Any]] = []
    for stage, _label in STAGES:
        backend = "json" if stage.endswith("-json") else "orjson"
        previous = codec.use_backend(backend)
        try:
            best = min(_pass(chunks, n, stage.removesuffix("-json")) for _ in range(5))
        finally:
            codec.use_backend(previous)
        results[stage] = best / n * 1e6
    results["sdk"] = min(_sdk_like_pass(chunks, n) for _ in range(5)) / n * 1e6
    results["websocket-client"] = min(_websocket_client_pass(chunks, n)
                                      for _ in range(5)) / n * 1e6
    results["sdk-every"] = min(_sdk_like_pass(chunks, n, True) for _ in range(5)) / n * 1e6
    for source, label in STREAMS:
        stream = frames("snake", n, "mix")[0] if source == "mix" else varied_chunks(n, source)
        # _pass frames as it goes: the figure includes framing, as the SDK's does
        ours = min(_pass(stream, n, "client-every") for _ in range(5)) / n * 1e6
        sdk = min(_sdk_like_pass(stream, n, True, True) for _ in range(5)) / n * 1e6
        results[f"{source}-client-every"] = ours
        results[f"{source}-sdk-every"] = sdk
        stream_rows.append([label, ours, sdk, sdk / ours])
    rows = [[label, results[stage]] for stage, label in STAGES]
    rows.append(["reference: websocket-client framing (recv_data_frame from a read buffer)",
                 results["websocket-client"]])
    rows.append(["reference: websockets sans-I/O framing + json.loads + dict best bid/ask "
                 "(the SDK's stack minus asyncio)", results["sdk"]])
    rows.append(["reference, the same reading every level, px and qty", results["sdk-every"]])
    text = table(f"Pipeline, one market-data frame in-process, µs (best of 5 × {n:,})",
                 ["stage (each includes the ones above it)", "µs/msg"], rows)
    text += table(f"Whole path, callback reads every level, µs per frame (best of 5 × {n:,})",
                  ["stream", "pmsync (framing + frame_received)", "SDK's stack", "× SDK"],
                  stream_rows)
    save("pipeline", {"n": n, "us_per_msg": results})
    return {"us_per_msg": results, "table": text}
